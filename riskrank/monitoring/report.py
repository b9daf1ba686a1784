"""The Excel report: one indicator per sheet, as the agency reports them (per benefit and year with women,
men and total; per month; per selection method), plus lift, operational indicators and fairness by sex.

Suppressed cells (fewer than four persons) are written as "*". The workbook is written to a temporary
file beside the target and renamed into place, so a failed run never leaves half a file.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from riskrank.errors import UserError
from riskrank.fairness.policy import SENSITIVE_REFERENCES, band_text, in_band
from riskrank.monitoring.dashboard_data import FAIRNESS_NOTE
from riskrank.monitoring.kpis import TOTAL, fairness_by_sex, hit_rate_table, lift, operational_indicators
from riskrank.monitoring.numbers import format_number

SEX_LABELS = {"F": "Kvinnor", "M": "Män", TOTAL: "Totalt"}
SELECTION_LABELS = {
    "impulse": "Impulse", "fk_initiated": "Agency-initiated", "random": "Random sample", "model": "Model", TOTAL: "Total",
}
# sheet title -> (measure column, number format, definition)
INDICATOR_SHEETS: dict[str, tuple[str, str, str]] = {
    "Hit rate": ("hit_rate", "0.0%", "Share of closed investigations with action (Tabell 75)."),
    "Closed": ("closed", "#,##0", "Closed control investigations (Tabell 74)."),
    "Detected SEK": ("detected_sek", "#,##0", "Detected erroneous amount, SEK, in closed investigations (Tabell 76)."),
    "Prevented SEK": ("prevented_sek", "#,##0", "Prevented erroneous payments, SEK, estimated (Tabell 77)."),
    "Detected per SEK cost": ("detected_per_sek_cost", "0.00",
                              "Detected SEK per SEK of control cost = detected / (closed x cost per investigation) (Tabell 78)."),
    "Police reports": ("police_reports", "#,##0", "Investigations that led to a police report (Tabell 79)."),
}
SUPPRESSED = "*"
SEX_ORDER = ("F", "M", TOTAL)


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return SUPPRESSED
    return value.item() if hasattr(value, "item") else value


def _label(key: str, value: str) -> str:
    if key == "sex":
        return SEX_LABELS.get(value, value)
    if key == "selection":
        return SELECTION_LABELS.get(value, value)
    return "Totalt" if value == TOTAL else value


def _order(key: str, value: str) -> tuple:
    """Column order: sexes as the agency reports them (women, men, total), anything else sorted with the total last."""
    if key == "sex":
        return (SEX_ORDER.index(value) if value in SEX_ORDER else len(SEX_ORDER), str(value))
    return (value == TOTAL, str(value))


def _write_block(ws, row: int, title: str, table: pd.DataFrame, row_key: str, col_keys: list[str], measure: str, fmt: str) -> int:
    """A pivot of `measure`: one row per `row_key` value, one column per combination of `col_keys`. Returns next free row."""
    from openpyxl.styles import Font

    ws.cell(row=row, column=1, value=title).font = Font(bold=True)
    row += 1
    if table.empty:
        ws.cell(row=row, column=1, value="no closed investigations")
        return row + 2
    columns = sorted(dict.fromkeys(tuple(r) for r in table[col_keys].itertuples(index=False)),
                     key=lambda combo: tuple(_order(key, value) for key, value in zip(col_keys, combo, strict=True)))
    header_rows = len(col_keys)
    for level in range(header_rows):
        for j, combo in enumerate(columns):
            ws.cell(row=row + level, column=2 + j, value=_label(col_keys[level], combo[level])).font = Font(bold=True)
    row += header_rows
    lookup = {(r[row_key], *(r[k] for k in col_keys)): r for r in table.to_dict(orient="records")}
    for value in dict.fromkeys(table[row_key]):
        ws.cell(row=row, column=1, value=_label(row_key, value))
        for j, combo in enumerate(columns):
            record = lookup.get((value, *combo))
            if record is None:
                continue
            cell = ws.cell(row=row, column=2 + j, value=SUPPRESSED if record["suppressed"] else _cell(record[measure]))
            cell.number_format = fmt
        row += 1
    return row + 1


def _years_only(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["year"] != TOTAL]


def _write_sheet_rows(ws, header: list[str], rows: list[list[object]], formats: dict[int, str] | None = None) -> None:
    from openpyxl.styles import Font

    for j, heading in enumerate(header, start=1):
        ws.cell(row=1, column=j, value=heading).font = Font(bold=True)
    for i, values in enumerate(rows, start=2):
        for j, value in enumerate(values, start=1):
            cell = ws.cell(row=i, column=j, value=_cell(value) if value is not None else SUPPRESSED)
            if formats and j in formats:
                cell.number_format = formats[j]


def build_workbook(frame: pd.DataFrame, operational_frame: pd.DataFrame, cost_per_investigation: float, source: str,
                   number_locale: str = "sv"):
    """The workbook (openpyxl) for an outcomes-like frame; `operational_frame` may include open investigations.
    Numbers in text are written in `number_locale`; numeric cells keep Excel formats (shown in the reader's locale)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    about = wb.active
    about.title = "About"
    by_benefit = _years_only(hit_rate_table(frame, by=["benefit", "year", "sex"], cost_per_investigation=cost_per_investigation))
    by_month = hit_rate_table(frame, by=["month", "sex"], cost_per_investigation=cost_per_investigation)
    by_selection = _years_only(hit_rate_table(frame, by=["selection", "year"], cost_per_investigation=cost_per_investigation))
    for title, (measure, fmt, definition) in INDICATOR_SHEETS.items():
        ws = wb.create_sheet(title)
        ws.cell(row=1, column=1, value=definition).font = Font(italic=True)
        row = _write_block(ws, 3, "Per benefit and year", by_benefit, "benefit", ["year", "sex"], measure, fmt)
        row = _write_block(ws, row, "Per month (closing month)", by_month, "month", ["sex"], measure, fmt)
        _write_block(ws, row, "Per selection method and year", by_selection, "selection", ["year"], measure, fmt)
        ws.column_dimensions["A"].width = 28
    _lift_sheet(wb.create_sheet("Lift"), frame)
    _operational_sheet(wb.create_sheet("Operational"), operational_frame)
    _fairness_sheet(wb.create_sheet("Fairness"), frame)
    lines = [
        "riskrank manager report",
        f"Source: {source}",
        f"Written: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"Closed investigations: {format_number(len(frame), 0, number_locale)}",
        f"Cost per investigation (SEK): {format_number(cost_per_investigation, 2, number_locale)}",
        "Conventions: an investigation counts in the month and year it closed. Totalt includes unknown sex, so Kvinnor + Män",
        "need not add up to Totalt. Values about fewer than four persons are suppressed and shown as *.",
        "The score is a ranking aid for investigators, never a decision.",
    ]
    for i, line in enumerate(lines, start=1):
        about.cell(row=i, column=1, value=line)
    about["A1"].font = Font(bold=True, size=14)
    return wb


def _lift_sheet(ws, frame: pd.DataFrame) -> None:
    rows = []
    periods = ["All", *(str(y) for y in sorted(frame["closed_date"].dt.year.unique()))]
    scopes = [("Totalt", frame)] + [(b, g) for b, g in frame.groupby("benefit", sort=True)]
    for scope, scoped in scopes:
        for period in periods:
            part = scoped if period == "All" else scoped[scoped["closed_date"].dt.year == int(period)]
            result = lift(part)
            if result["model_closed"] == 0 and result["random_closed"] == 0:
                continue
            rows.append([scope, period, result["model_closed"], result["model_hit_rate"], result["random_closed"],
                         result["random_hit_rate"], result["lift"], result["low"], result["high"]])
    header = ["Benefit", "Year", "Model-selected closed", "Model hit rate", "Random closed", "Random hit rate", "Lift",
              "95% low", "95% high"]
    _write_sheet_rows(ws, header, rows, {4: "0.0%", 6: "0.0%", 7: "0.00", 8: "0.00", 9: "0.00"})


def _operational_sheet(ws, frame: pd.DataFrame) -> None:
    """Per month for all benefits (Totalt), then per benefit, as the monthly result indicators are reported."""
    overall = operational_indicators(frame).assign(benefit="Totalt")
    per_benefit = operational_indicators(frame, by_benefit=True) if not frame.empty else overall.iloc[0:0]
    table = pd.concat([overall, per_benefit], ignore_index=True)
    header = ["Benefit", "Month", "Inflow", "Closed", "Open at month end", "Age mean (days)", "Age median", "Age p10", "Age p90",
              "Handling time mean (days)", "Handling time median"]
    rows = [[r["benefit"], r["month"], r["inflow"], r["closed"], r["open_at_month_end"], r["age_mean_days"], r["age_median_days"],
             r["age_p10_days"], r["age_p90_days"], r["handling_mean_days"], r["handling_median_days"]]
            for r in table.to_dict(orient="records")]
    _write_sheet_rows(ws, header, rows, {j: "0.0" for j in range(6, 12)})


def _fairness_sheet(ws, frame: pd.DataFrame) -> None:
    rows = []
    scopes = [("Totalt", frame)] + [(b, g) for b, g in frame.groupby("benefit", sort=True)]
    for scope, part in scopes:
        for r in fairness_by_sex(part, reference=SENSITIVE_REFERENCES["sex"]):
            if r["suppressed"]:
                rows.append([scope, SEX_LABELS[r["sex"]], *[SUPPRESSED] * 8])
                continue
            flagged = any(v is not None and not in_band(v) for v in (r["parity"], r["precision_ratio"]))
            rows.append([scope, SEX_LABELS[r["sex"]], r["n_model"], r["n_random"], r["parity"], r["parity_low"],
                         r["parity_high"], r["precision_ratio"], r["precision_ratio_low"], r["precision_ratio_high"]]
                        + ([f"outside {band_text()}"] if flagged else ["" if not r["reference"] else "reference"]))
    header = ["Benefit", "Sex", "Model-selected", "Random sample", "Parity (share selected / share in random)", "low", "high",
              "Precision ratio to reference", "low", "high", "Flag"]
    _write_sheet_rows(ws, header, rows, {j: "0.00" for j in range(5, 11)})
    ws.cell(row=len(rows) + 3, column=1, value=FAIRNESS_NOTE)


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


def build_report_from_world(world_dir: Path, out: Path, cost_per_investigation: float | None = None) -> list[str]:
    from riskrank.monitoring.sources import outcomes_from_world
    from riskrank.world import read_world

    world = read_world(world_dir, with_truth=False)
    frame = outcomes_from_world(world)
    operational = outcomes_from_world(world, include_open=True)
    return _save(frame, operational, out, cost_per_investigation, f"world {world_dir}")


def build_report_from_db(out: Path, cost_per_investigation: float | None = None) -> list[str]:
    from riskrank.db import get_engine
    from riskrank.monitoring.sources import outcomes_from_db
    from riskrank.settings import get_settings

    settings = get_settings()
    frame = outcomes_from_db(get_engine(settings.database_url))
    if frame.empty:
        raise UserError("no outcomes recorded yet in the operational store; record outcomes or use --world DIR")
    return _save(frame, frame, out, cost_per_investigation, "operational store (recorded outcomes)")


def _save(frame: pd.DataFrame, operational: pd.DataFrame, out: Path, cost: float | None, source: str) -> list[str]:
    from riskrank.settings import get_settings

    settings = get_settings()
    cost = cost if cost is not None else settings.cost_per_investigation_sek
    wb = build_workbook(frame, operational, cost, source, settings.number_locale)
    save_workbook(wb, out)
    return list(wb.sheetnames)
