"""The audit's outputs: a rich table on screen, a self-contained HTML page with SVG charts, a JSON file."""

from __future__ import annotations

import json
import os
import tempfile
from html import escape
from pathlib import Path

from rich.console import Console
from rich.table import Table

from riskrank.fairness.audit import FULLY_LABELLED, METRIC_LABELS, METRIC_SHORT, METRICS, AuditResult
from riskrank.fairness.policy import FAIR_HIGH, FAIR_LOW
from riskrank.fairness.svg import grouped_bars, ratio_chart

INTERVAL_NOTE = ("95 % percentile bootstrap intervals; selection rate, FPR and precision as riskrank's promotion gate "
                 "defines them, but the gate measures the model's own evaluation population with 99 % intervals")


def _fmt(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:.1%}" if percent else f"{value:.2f}"


def _ratio_text(record: dict, metric: str) -> str:
    ratio = record[f"{metric}_ratio"]
    low, high = record[f"{metric}_ratio_low"], record[f"{metric}_ratio_high"]
    interval = f" [{_fmt(low)}–{_fmt(high)}]" if low is not None and high is not None and not record["reference"] else ""
    return f"{_fmt(ratio)}{interval}"


def _sizes(result: AuditResult) -> str:
    if result.shape == FULLY_LABELLED:
        return f"Fully labelled table: {result.population:,} cases, {result.n_selected:,} selected."
    return (f"Population {result.population:,}; random sample {result.n_random:,} rows; model selections "
            f"{result.n_selected:,} rows.")


def _count_heading(result: AuditResult) -> str:
    return "cases" if result.shape == FULLY_LABELLED else "random"


def _count(result: AuditResult, record: dict) -> str:
    return str(record["n_cases"] if result.shape == FULLY_LABELLED else record["n_random"])


def print_audit(result: AuditResult, console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"{_sizes(result)} Ratios are to the reference group; flagged (red) outside {FAIR_LOW}-{FAIR_HIGH}.")
    console.print(f"Convention: {result.convention()}.")
    console.print(f"[dim]{INTERVAL_NOTE}.[/dim]")
    for note in result.notes:
        console.print(f"[dim]note: {note}[/dim]")
    for column in dict.fromkeys(r["group_column"] for r in result.records):
        table = Table(title=f"{column} (reference: {result.references[column]})")
        headings = ("group", _count_heading(result), "selected", "pop. share", "selected share",
                    *[METRIC_LABELS[m] for m in METRICS])
        for heading in headings:
            table.add_column(heading, justify="right" if heading != "group" else "left")
        for record in (r for r in result.records if r["group_column"] == column):
            cells = [record["group"], _count(result, record), str(record["n_selected"]),
                     _fmt(record["population_share"], True), _fmt(record["selected_share"], True)]
            for metric in METRICS:
                text = f"{_fmt(record[metric], metric != 'found_to_selected')}\nratio {_ratio_text(record, metric)}"
                cells.append(f"[red]{text}[/red]" if record[f"{metric}_ratio_flag"] else text)
            table.add_row(*cells)
        console.print(table)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    Path(tmp).replace(path)


def write_json(result: AuditResult, path: Path) -> None:
    """One record per group column and group; each says the table's shape and the missing-outcome convention."""
    _atomic_write(path, json.dumps(result.records, indent=2, ensure_ascii=False))


def audit_html(result: AuditResult, source: str) -> str:
    sections = []
    for column in dict.fromkeys(r["group_column"] for r in result.records):
        rows = [r for r in result.records if r["group_column"] == column]
        labels = [r["group"] for r in rows]
        shares = grouped_bars(labels, {
            "share of population": [r["population_share"] for r in rows],
            "share of selections": [r["selected_share"] for r in rows],
        }, f"{column}: statistical parity")
        items = [(f"{METRIC_SHORT[m]} – {r['group']}", r[f"{m}_ratio"], r[f"{m}_ratio_low"], r[f"{m}_ratio_high"],
                  r[f"{m}_ratio_flag"]) for m in METRICS for r in rows if not r["reference"]]
        ratios = ratio_chart(items, f"{column}: ratio to {result.references[column]} (shaded: {FAIR_LOW}–{FAIR_HIGH})")
        head = "".join(f"<th>{escape(h)}</th>" for h in ("group", _count_heading(result), "selected", "TP", "FP", "FN", "TN",
                                                         *[METRIC_LABELS[m] for m in METRICS]))
        body = []
        for r in rows:
            cells = [escape(r["group"]) + (" (ref.)" if r["reference"] else ""), _count(result, r), str(r["n_selected"]),
                     *(_fmt(r[k]) for k in ("tp", "fp", "fn", "tn"))]
            for m in METRICS:
                flag = ' class="flag"' if r[f"{m}_ratio_flag"] else ""
                cells.append(f"<span{flag}>{_fmt(r[m], m != 'found_to_selected')}<br>ratio {escape(_ratio_text(r, m))}</span>")
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        sections.append(f"<section><h2>{escape(column)}</h2>{shares}{ratios}<table><thead><tr>{head}</tr></thead>"
                        f"<tbody>{''.join(body)}</tbody></table></section>")
    notes = "".join(f"<p class='note'>{escape(n)}</p>" for n in result.notes)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fairness audit – {escape(source)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right;font-size:13px}}.flag{{color:#c62828;font-weight:bold}}
.note{{color:#666}}svg{{display:block;margin:1em 0}}</style></head><body>
<h1>Fairness audit of model selections</h1>
<p>Source: {escape(source)}. {escape(_sizes(result))} Ratios are to the reference group, with bootstrap intervals; ratios
outside {FAIR_LOW}–{FAIR_HIGH} are flagged in red.</p>
<p class="convention">Convention: {escape(result.convention())}.</p><p class="note">{escape(INTERVAL_NOTE)}.</p>{notes}
{''.join(sections)}</body></html>"""


def write_html(result: AuditResult, path: Path, source: str) -> None:
    _atomic_write(path, audit_html(result, source))
