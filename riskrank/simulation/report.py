"""Calibration report: the generated 2024 figures next to the published ones, per benefit and sex, with sources,
and the triage's fitted content-signal informativeness per benefit (the burn-in before 2022 is not counted)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskrank.simulation import published
from riskrank.world import BENEFITS, World

YEAR = 2024
SEXES = {"women": "F", "men": "M", "total": None}
COLUMNS = ["metric", "benefit", "sex", "year", "source", "unit", "generated", "published", "difference"]


def _investigations(world: World) -> pd.DataFrame:
    inv = world.investigations.merge(world.cases[["case_id", "person_id", "benefit"]], on="case_id", how="left")
    inv = inv.merge(world.persons[["person_id", "sex"]], on="person_id", how="left")
    inv = inv[inv["closed_date"].dt.year == YEAR].copy()
    inv["benefit"] = inv["benefit"].astype(str)
    inv["sex"] = inv["sex"].astype(object)
    for column in ("action", "police_report"):
        inv[column] = inv[column].astype("float64")
    return inv


def _recipients(world: World) -> pd.DataFrame:
    cases = world.cases
    start, end = pd.Timestamp(f"{YEAR}-01-01"), pd.Timestamp(f"{YEAR}-12-31")
    running = (cases["start_date"] <= end) & (cases["end_date"].isna() | (cases["end_date"] >= start))
    rec = cases.loc[running, ["person_id", "benefit"]].drop_duplicates()
    rec = rec.merge(world.persons[["person_id", "sex"]], on="person_id", how="left")
    rec["benefit"] = rec["benefit"].astype(str)
    rec["sex"] = rec["sex"].astype(object)
    return rec


def _share(series: pd.Series) -> float:
    return float(series.mean() * 100) if len(series) else float("nan")


def calibration_report(world: World) -> pd.DataFrame:
    """One row per (metric, benefit, sex): generated 2024 value, published value (counts scaled), difference."""
    scale = float((world.meta or {}).get("scale", 1.0))
    inv = _investigations(world)
    rec = _recipients(world)
    rows: list[dict] = []

    def add(metric: str, benefit: str, sex: str, source: str, unit: str, generated: float, pub: float | None) -> None:
        pub_value = float("nan") if pub is None else float(pub)
        rows.append({"metric": metric, "benefit": benefit, "sex": sex, "year": YEAR, "source": source, "unit": unit,
                     "generated": generated, "published": pub_value, "difference": generated - pub_value})

    for benefit in BENEFITS:
        b_inv = inv[inv["benefit"] == benefit]
        b_rec = rec[rec["benefit"] == benefit]
        for sex, code in SEXES.items():
            s_inv = b_inv if code is None else b_inv[b_inv["sex"] == code]
            s_rec = b_rec if code is None else b_rec[b_rec["sex"] == code]
            def pv(path: str, benefit: str = benefit, sex: str = sex) -> float | None:
                return published.value(benefit, path, YEAR, sex)

            closed_pub = pv(published.CLOSED)
            recipients_pub = pv(published.RECIPIENTS)
            add("recipients", benefit, sex, "Tabell 3", "persons", len(s_rec),
                None if recipients_pub is None else scale * recipients_pub)
            add("closed_investigations", benefit, sex, "Tabell 74", "count", len(s_inv),
                None if closed_pub is None else scale * closed_pub)
            non_random = s_inv[s_inv["selection"] != "random"]
            add("share_with_action_non_random", benefit, sex, "Tabell 75", "pct", _share(non_random["action"]),
                pv(published.SHARE_WITH_ACTION))
            add("share_with_action_all", benefit, sex, "Tabell 75", "pct", _share(s_inv["action"]),
                pv(published.SHARE_WITH_ACTION))
            def per_inv(path: str, pv=pv, closed_pub: float | None = closed_pub) -> float | None:  # noqa: ANN001
                figure = pv(path)
                return None if not closed_pub or figure is None else figure / closed_pub

            add("detected_ksek_per_investigation", benefit, sex, "Tabell 76 / Tabell 74", "kSEK",
                float(s_inv["detected_sek"].mean() / 1000) if len(s_inv) else np.nan, per_inv(published.DETECTED_KSEK))
            add("prevented_ksek_per_investigation", benefit, sex, "Tabell 77 / Tabell 74", "kSEK",
                float(s_inv["prevented_sek"].mean() / 1000) if len(s_inv) else np.nan, per_inv(published.PREVENTED_KSEK))
            police_pub = per_inv(published.POLICE)
            add("police_report_share", benefit, sex, "Tabell 79 / Tabell 74", "pct", _share(s_inv["police_report"]),
                None if police_pub is None else 100 * police_pub)
        closed_all = published.required(benefit, published.CLOSED, YEAR)
        women_pub = published.required(benefit, published.CLOSED, YEAR, "women") / closed_all
        add("women_share_of_investigations", benefit, "total", "Tabell 74", "pct", _share(b_inv["sex"] == "F"), 100 * women_pub)
        for selection in ("impulse", "fk_initiated", "random"):
            add(f"share_with_action_{selection}", benefit, "total", "Tabell 75" if selection != "random" else "truth",
                "pct", _share(b_inv.loc[b_inv["selection"] == selection, "action"]),
                None if selection == "random" else published.value(benefit, published.SHARE_WITH_ACTION, YEAR))
    _add_impulses(world, inv, scale, add)
    # how much of the truth the triage reads in a notification's content (fitted to Tabell 75, agency.py)
    fitted = ((world.meta or {}).get("agency") or {}).get("informativeness", {})
    for benefit in BENEFITS:
        value = fitted.get(benefit, {}).get(str(YEAR))
        add("content_signal_informativeness", benefit, "total", "fitted to Tabell 75", "sd",
            float("nan") if value is None else float(value), None)
    return pd.DataFrame(rows, columns=COLUMNS)


def _add_impulses(world: World, inv: pd.DataFrame, scale: float, add) -> None:  # noqa: ANN001
    """Agency-level rows: other agencies' notifications (Tabell 82), police shares by source, notifications."""
    investigations, reports = published.agency_notifications(YEAR)
    all_closed = published.calibration()["benefits"]["totalt"]["control_investigations"]["closed_count"]["values"]
    total_closed = all_closed[str(YEAR)]["total"]
    agency = inv[inv["impulse_source"].astype(object) == "agency"]
    others = inv[inv["impulse_source"].astype(object) != "agency"]
    # the world holds the benefits of Tabell 74, not every benefit of the agency total: compare shares of it
    world_share = len(inv) / (scale * total_closed) if total_closed else float("nan")
    add("agency_notified_investigations", "all", "total", "Tabell 82", "count", len(agency),
        scale * investigations * world_share)
    add("agency_notified_police_reports", "all", "total", "Tabell 82", "count", float(agency["police_report"].sum()),
        scale * reports * world_share)
    police_total = sum(published.value(b, published.POLICE, YEAR) or 0.0 for b in BENEFITS)
    closed_total = sum(published.value(b, published.CLOSED, YEAR) or 0.0 for b in BENEFITS)
    add("police_report_share_agency_notified", "all", "total", "Tabell 82", "pct", _share(agency["police_report"]),
        100 * reports / investigations)
    others_pub = 100 * (police_total - reports * world_share) / (closed_total - investigations * world_share)
    add("police_report_share_other_sources", "all", "total", "Tabell 79 - Tabell 82", "pct",
        _share(others["police_report"]), others_pub)
    notes = world.signals[(world.signals["kind"].astype(object) == "notification")
                          & (world.signals["date"].dt.year == YEAR)]
    impulses = world.investigations[(world.investigations["selection"].astype(object) == "impulse")
                                    & (world.investigations["opened_date"].dt.year == YEAR)]
    add("notifications", "all", "total", "world", "count", len(notes), None)
    add("impulse_investigations_per_notification", "all", "total", "world", "pct",
        100 * len(impulses) / len(notes) if len(notes) else float("nan"), None)
    add("ubm_notifications", "sjukpenning", "total", "facts.md (UBM, about 150 in 2024)", "count",
        float((notes["source"].astype(object) == "ubm").sum()), scale * 150)
    omv = inv[inv["benefit"] == "omvardnadsbidrag"]
    school = omv.loc[omv["impulse_source"].astype(object) == "school", "detected_sek"].sum()
    add("school_share_of_detected_sek", "omvardnadsbidrag", "total", "facts.md (almost half)", "pct",
        100 * school / omv["detected_sek"].sum() if omv["detected_sek"].sum() else float("nan"), 50.0)


def to_markdown(report: pd.DataFrame, scale: float | None = None) -> str:
    lines = [f"# Calibration report ({YEAR})", ""]
    if scale is not None:
        lines.append(f"World scale {scale:g}: published counts are multiplied by the scale; shares and means are not.")
        lines.append("")
    lines.append("| metric | benefit | sex | source | unit | generated | published | difference |")
    lines.append("|---|---|---|---|---|---:|---:|---:|")
    for row in report.itertuples(index=False):
        lines.append(f"| {row.metric} | {row.benefit} | {row.sex} | {row.source} | {row.unit} | "
                     f"{_fmt(row.generated)} | {_fmt(row.published)} | {_fmt(row.difference)} |")
    return "\n".join(lines) + "\n"


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    return f"{x:,.1f}" if abs(x) < 1e6 else f"{x:,.0f}"


def write_report(report: pd.DataFrame, folder: str | Path, scale: float | None = None) -> tuple[Path, Path]:
    """calibration.md and calibration.csv in `folder` (written whole, then renamed into place)."""
    folder = Path(folder)
    md, csv = folder / "calibration.md", folder / "calibration.csv"
    for path, text in ((md, to_markdown(report, scale)), (csv, report.to_csv(index=False))):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return md, csv


def print_report(report: pd.DataFrame, sex: str = "total") -> None:
    """Rich table on screen, one sex at a time (the files beside the world hold all)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Calibration {YEAR}, sex={sex} (generated vs published)")
    for column in ("metric", "benefit", "source", "generated", "published", "difference"):
        table.add_column(column, justify="right" if column in ("generated", "published", "difference") else "left")
    for row in report[report["sex"] == sex].itertuples(index=False):
        table.add_row(row.metric, row.benefit, row.source, _fmt(row.generated), _fmt(row.published), _fmt(row.difference))
    console = Console()
    console.width = max(console.width, 150)
    console.print(table)
