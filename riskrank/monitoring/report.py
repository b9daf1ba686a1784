"""The Excel report: the agency's indicators per benefit, year and sex, per month and per selection method, plus
lift, operational indicators, fairness by sex and by every group the gate judges, in one language (report_labels:
Swedish by default).

Every sheet is one table under a legend row: a frozen header row with filters, column widths to fit, and numbers
stored as numbers (years as numbers, months as dates) in Excel number formats. A cell about fewer than four persons
holds `*` (suppressed), a cell with nothing to compute holds `–` (no data); the legend on each sheet says so.
The workbook is written to a temporary file beside the target and renamed into place, so a failed run never
leaves half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from riskrank.errors import UserError
from riskrank.fairness.policy import FAIR_HIGH, FAIR_LOW, SENSITIVE_REFERENCES, in_band
from riskrank.monitoring.kpis import (
    MIN_PERSONS,
    SEXES,
    TOTAL,
    fairness_by_group,
    fairness_by_sex,
    hit_rate_table,
    lift,
    operational_indicators,
)
from riskrank.monitoring.numbers import format_number
from riskrank.monitoring.report_labels import NO_DATA, SUPPRESSED, labels

SELECTIONS = ("model", "random", "impulse", "fk_initiated")
COUNT, SHARE, RATIO, DAYS, YEAR, MONTH = "#,##0", "0.0%", "0.00", "0.0", "0", "yyyy-mm"
# the indicator columns of the three breakdown sheets: (measure, number format)
MEASURE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("closed", COUNT), ("with_action", COUNT), ("hit_rate", SHARE), ("hit_rate_low", SHARE), ("hit_rate_high", SHARE),
    ("detected_sek", COUNT), ("prevented_sek", COUNT), ("detected_per_sek_cost", RATIO), ("police_reports", COUNT),
)
_COUNTS = ("closed", "with_action", "detected_sek", "prevented_sek", "police_reports")
HEADER_ROW = 2  # row 1 is the legend
MIN_WIDTH, MAX_WIDTH = 8, 42


def _number(value: object, suppressed: bool = False) -> object:
    """The cell's content: `*` when suppressed, `–` when there is nothing, else a plain Python number (whole numbers
    as int, so counts read as counts)."""
    if suppressed:
        return SUPPRESSED
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return NO_DATA
    value = value.item() if hasattr(value, "item") else value
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _measure_header(text: dict[str, str], measure: str) -> str:
    if measure in ("hit_rate_low", "hit_rate_high"):
        return f"{text['hit_rate']}, {text[measure.removeprefix('hit_rate_')]}"
    return text[measure]


def _key_label(text: dict[str, str], key: str, value: str) -> object:
    if value == TOTAL:
        return text["total"]
    if key == "sex":
        return text[f"sex.{value}"]
    if key == "selection":
        return text.get(f"selection.{value}", value)
    if key == "year":
        return int(value)
    if key == "month":
        return date.fromisoformat(f"{value}-01")
    return value


def _grid(table: pd.DataFrame, keys: list[str], levels: dict[str, list[str]]) -> pd.DataFrame:
    """`table` on every combination of `levels` (in their order): a combination without investigations gets zero
    counts and no rates, so "no data" shows as such instead of a missing row."""
    index = pd.MultiIndex.from_product([levels[k] for k in keys], names=keys)
    full = table.set_index(keys).reindex(index).reset_index()
    empty = full["suppressed"].isna()
    full.loc[empty, list(_COUNTS)] = 0.0
    full["suppressed"] = full["suppressed"].astype("boolean").fillna(False).astype(bool)
    return full


def _ordered(values: Sequence[str], order: Sequence[str] = ()) -> list[str]:
    """Known values in `order`, the rest sorted, then the total."""
    found = [v for v in dict.fromkeys(values) if v != TOTAL]
    known = [v for v in order if v in found]
    return known + sorted(v for v in found if v not in order) + ([TOTAL] if TOTAL in values else [])


def _months(table: pd.DataFrame) -> list[str]:
    found = sorted(m for m in table["month"].unique() if m != TOTAL)
    if not found:
        return []
    return [p.strftime("%Y-%m") for p in pd.period_range(found[0], found[-1], freq="M")]


def _write_table(ws, text: dict[str, str], header: list[str], rows: list[list[object]], formats: list[str | None]) -> None:
    """One table on a sheet: the legend in row 1, the header in row 2 (frozen, with filters), then the rows; numeric
    cells get their column's number format, and every column a width that fits its longest entry (within bounds)."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws.cell(row=1, column=1, value=text["legend"]).font = Font(italic=True)
    for j, heading in enumerate(header, start=1):
        cell = ws.cell(row=HEADER_ROW, column=j, value=heading)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, values in enumerate(rows, start=HEADER_ROW + 1):
        for j, value in enumerate(values, start=1):
            cell = ws.cell(row=i, column=j, value=value)
            if formats[j - 1] and isinstance(value, int | float | date):
                cell.number_format = formats[j - 1]
            elif value in (SUPPRESSED, NO_DATA):
                cell.alignment = Alignment(horizontal="right")
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
    last = get_column_letter(len(header))
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + max(len(rows), 1)}"
    for j, heading in enumerate(header, start=1):
        longest = max([_shown_width(v, formats[j - 1]) for v in (r[j - 1] for r in rows)] + [min(len(heading), 24)])
        ws.column_dimensions[get_column_letter(j)].width = max(MIN_WIDTH, min(MAX_WIDTH, longest + 3))


def _shown_width(value: object, fmt: str | None) -> int:
    """About how many characters Excel shows for `value` in format `fmt`."""
    if isinstance(value, date):
        return 7
    if isinstance(value, int | float) and fmt:
        decimals = len(fmt.split(".")[1].rstrip("%")) if "." in fmt else 0
        text = f"{value * (100 if fmt.endswith('%') else 1):,.{decimals}f}" + ("%" if fmt.endswith("%") else "")
        return len(text)
    return len(str(value))


def _breakdown_sheet(ws, text: dict[str, str], table: pd.DataFrame, keys: list[str], levels: dict[str, list[str]]) -> None:
    full = _grid(table, keys, levels)
    header = [text[k] for k in keys] + [_measure_header(text, m) for m, _ in MEASURE_COLUMNS]
    formats: list[str | None] = [YEAR if k == "year" else MONTH if k == "month" else None for k in keys]
    formats += [fmt for _, fmt in MEASURE_COLUMNS]
    rows = [[_key_label(text, k, r[k]) for k in keys] + [_number(r[m], r["suppressed"]) for m, _ in MEASURE_COLUMNS]
            for r in full.to_dict(orient="records")]
    _write_table(ws, text, header, rows, formats)


def build_workbook(frame: pd.DataFrame, operational_frame: pd.DataFrame, cost_per_investigation: float, source: str,
                   number_locale: str = "sv", lang: str = "sv"):
    """The workbook (openpyxl) for an outcomes-like frame in language `lang`; `operational_frame` may include open
    investigations. Numbers in text are written in `number_locale`; numeric cells keep Excel formats (shown in the
    reader's locale)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    text = labels(lang)
    wb = Workbook()
    about = wb.active
    about.title = text["sheet.about"]
    by_benefit = hit_rate_table(frame, by=["benefit", "year", "sex"], cost_per_investigation=cost_per_investigation)
    by_month = hit_rate_table(frame, by=["month", "sex"], cost_per_investigation=cost_per_investigation)
    by_selection = hit_rate_table(frame, by=["selection", "year"], cost_per_investigation=cost_per_investigation)
    years = _ordered([y for y in by_benefit["year"].unique() if y != TOTAL])
    sexes = [*SEXES, TOTAL]
    _breakdown_sheet(wb.create_sheet(text["sheet.benefit_year"]), text, by_benefit, ["benefit", "year", "sex"],
                     {"benefit": _ordered(by_benefit["benefit"].tolist()), "year": years, "sex": sexes})
    _breakdown_sheet(wb.create_sheet(text["sheet.month"]), text, by_month, ["month", "sex"],
                     {"month": _months(by_month), "sex": sexes})
    _breakdown_sheet(wb.create_sheet(text["sheet.selection_year"]), text, by_selection, ["selection", "year"],
                     {"selection": _ordered(by_selection["selection"].tolist(), SELECTIONS), "year": years})
    _lift_sheet(wb.create_sheet(text["sheet.lift"]), text, frame)
    _operational_sheet(wb.create_sheet(text["sheet.operational"]), text, operational_frame)
    _fairness_sheet(wb.create_sheet(text["sheet.fairness"]), text, frame, number_locale)
    _group_fairness_sheet(wb.create_sheet(text["sheet.group_fairness"]), text, frame, number_locale)
    lines = [
        text["title"],
        text["legend"],
        f"{text['source']}: {source}",
        f"{text['written']}: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"{text['closed_total']}: {format_number(len(frame), 0, number_locale)}",
        f"{text['cost']}: {format_number(cost_per_investigation, 2, number_locale)}",
        text["conventions"],
        text["notice"],
        "",
        text["definitions"],
        *(text[f"def.{m}"] for m in ("closed", "hit_rate", "detected_sek", "prevented_sek", "detected_per_sek_cost",
                                     "police_reports", "lift")),
    ]
    for i, line in enumerate(lines, start=1):
        about.cell(row=i, column=1, value=line)
    about["A1"].font = Font(bold=True, size=14)
    about["A2"].font = Font(italic=True)
    about.column_dimensions["A"].width = 100
    return wb


def _lift_sheet(ws, text: dict[str, str], frame: pd.DataFrame) -> None:
    rows = []
    years = sorted(int(y) for y in frame["closed_date"].dt.year.unique())
    periods = ([(years[0], years[-1])] if len(years) > 1 else []) + [(y, y) for y in years]
    scopes = [(text["total"], frame)] + [(b, g) for b, g in frame.groupby("benefit", sort=True)]
    for scope, scoped in scopes:
        for first, last in periods:
            year = scoped["closed_date"].dt.year
            result = lift(scoped[(year >= first) & (year <= last)])
            if result["model_closed"] == 0 and result["random_closed"] == 0:
                continue
            rows.append([scope, first, last] + [_number(result[k]) for k in
                        ("model_closed", "model_hit_rate", "random_closed", "random_hit_rate", "lift", "low", "high")])
    header = [text[k] for k in ("benefit", "first_year", "last_year", "model_closed", "model_hit_rate", "random_closed",
                                "random_hit_rate", "lift", "low", "high")]
    _write_table(ws, text, header, rows, [None, YEAR, YEAR, COUNT, SHARE, COUNT, SHARE, RATIO, RATIO, RATIO])


def _operational_sheet(ws, text: dict[str, str], frame: pd.DataFrame) -> None:
    """Per month for all benefits (total), then per benefit, as the monthly result indicators are reported. A statistic
    over one to three cases is suppressed; over none, there is no data."""
    overall = operational_indicators(frame).assign(benefit=text["total"])
    per_benefit = operational_indicators(frame, by_benefit=True) if not frame.empty else overall.iloc[0:0]
    table = pd.concat([overall, per_benefit], ignore_index=True)
    ages = ("age_mean_days", "age_median_days", "age_p10_days", "age_p90_days")
    handling = ("handling_mean_days", "handling_median_days")

    def stat(r: dict, key: str, count: int) -> object:
        return _number(r[key], suppressed=0 < count < MIN_PERSONS)

    rows = [[r["benefit"], _key_label(text, "month", r["month"]), r["inflow"], r["closed"], r["open_at_month_end"]]
            + [stat(r, k, r["open_at_month_end"]) for k in ages] + [stat(r, k, r["closed"]) for k in handling]
            for r in table.to_dict(orient="records")]
    header = [text["benefit"], text["month"].split(" (")[0], text["inflow"], text["closed_month"], text["open_at_month_end"],
              *(text[k] for k in ages + handling)]
    _write_table(ws, text, header, rows, [None, MONTH, COUNT, COUNT, COUNT, *[DAYS] * 6])


def _fairness_sheet(ws, text: dict[str, str], frame: pd.DataFrame, number_locale: str) -> None:
    band = f"{format_number(FAIR_LOW, 2, number_locale)}–{format_number(FAIR_HIGH, 2, number_locale)}"
    rows = []
    scopes = [(text["total"], frame)] + [(b, g) for b, g in frame.groupby("benefit", sort=True)]
    for scope, part in scopes:
        for r in fairness_by_sex(part, reference=SENSITIVE_REFERENCES["sex"]):
            values = [_number(r[k], r["suppressed"]) for k in ("n_model", "n_random", "parity", "parity_low", "parity_high",
                                                              "precision_ratio", "precision_ratio_low", "precision_ratio_high")]
            flagged = not r["suppressed"] and any(v is not None and not in_band(v) for v in (r["parity"], r["precision_ratio"]))
            flag = "; ".join(([text["reference"]] if r["reference"] else []) + ([f"{text['outside']} {band}"] if flagged else []))
            rows.append([scope, text[f"sex.{r['sex']}"], *values, flag])
    header = [text["benefit"], text["sex"], text["n_model"], text["n_random"], text["parity"], text["low"], text["high"],
              text["precision_ratio"], text["low"], text["high"], text["flag"]]
    _write_table(ws, text, header, rows, [None, None, COUNT, COUNT, *[RATIO] * 6, None])
    ws.cell(row=HEADER_ROW + len(rows) + 2, column=1, value=text["fairness_note"])


def _group_label(text: dict[str, str], attribute: str, group: str) -> str:
    if attribute == "age_band":
        return f"{text['age_band.prefix']} {group}"
    return text[f"{attribute}.{group}"]


def _group_fairness_sheet(ws, text: dict[str, str], frame: pd.DataFrame, number_locale: str) -> None:
    """kpis.fairness_by_group for all benefits, then per benefit: each group's three ratios to its reference with
    their intervals; a ratio about fewer than four persons is suppressed."""
    band = f"{format_number(FAIR_LOW, 2, number_locale)}–{format_number(FAIR_HIGH, 2, number_locale)}"
    rows = []
    scopes = [(text["total"], frame)] + [(b, g) for b, g in frame.groupby("benefit", sort=True)]
    for scope, part in scopes:
        for r in fairness_by_group(part):
            values = [_number(r[k], r["suppressed"]) for k in ("n_model", "n_random", "ratio", "low", "high")]
            flagged = not r["suppressed"] and r["ratio"] is not None and not in_band(r["ratio"])
            rows.append([scope, text[f"attr.{r['attribute']}"], _group_label(text, r["attribute"], r["group"]),
                         _group_label(text, r["attribute"], r["reference"]), text[f"metric.{r['metric']}"], *values,
                         f"{text['outside']} {band}" if flagged else ""])
    header = [text["benefit"], text["attribute"], text["group"], text["reference_group"], text["metric"], text["n_model"],
              text["n_random"], text["ratio"], text["low"], text["high"], text["flag"]]
    _write_table(ws, text, header, rows, [None, None, None, None, None, COUNT, COUNT, RATIO, RATIO, RATIO, None])
    ws.cell(row=HEADER_ROW + len(rows) + 2, column=1, value=text["group_fairness_note"])


def save_workbook(wb, out: Path) -> None:
    out = Path(out)
    if not out.parent.exists():
        raise UserError(f"folder {out.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        wb.save(tmp)
        Path(tmp).replace(out)
    finally:
        Path(tmp).unlink(missing_ok=True)


def build_report_from_world(world_dir: Path, out: Path, cost_per_investigation: float | None = None,
                            lang: str = "sv") -> list[str]:
    from riskrank.monitoring.sources import outcomes_from_world
    from riskrank.world import read_world

    world = read_world(world_dir, with_truth=False)
    frame = outcomes_from_world(world)
    operational = outcomes_from_world(world, include_open=True)
    return _save(frame, operational, out, cost_per_investigation, labels(lang)["source.world"].format(path=world_dir), lang)


def build_report_from_db(out: Path, cost_per_investigation: float | None = None, lang: str = "sv") -> list[str]:
    from riskrank.db import get_engine
    from riskrank.monitoring.sources import outcomes_from_db
    from riskrank.settings import get_settings

    settings = get_settings()
    frame = outcomes_from_db(get_engine(settings.database_url))
    if frame.empty:
        raise UserError("no outcomes recorded yet in the operational store; record outcomes or use --world DIR")
    return _save(frame, frame, out, cost_per_investigation, labels(lang)["source.db"], lang)


def _save(frame: pd.DataFrame, operational: pd.DataFrame, out: Path, cost: float | None, source: str, lang: str) -> list[str]:
    from riskrank.settings import get_settings

    settings = get_settings()
    cost = cost if cost is not None else settings.cost_per_investigation_sek
    wb = build_workbook(frame, operational, cost, source, settings.number_locale, lang)
    save_workbook(wb, out)
    return list(wb.sheetnames)
