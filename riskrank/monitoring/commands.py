"""CLI command of the monitoring part: `riskrank report`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from riskrank.errors import UserError


class Language(StrEnum):
    sv = "sv"  # Swedish, as the agency reports
    en = "en"


def report(
    out: Path = typer.Option(..., "--out", help="Excel file to write (.xlsx)."),
    world: Path | None = typer.Option(None, "--world", help="Read a world folder instead of the operational DB."),
    cost_per_investigation: float | None = typer.Option(None, help="Control cost per investigation, SEK (default: settings)."),
    lang: Language = typer.Option(Language.sv, "--lang", help="Language of the whole workbook: sv (Swedish) or en (English)."),
) -> None:
    """Excel workbook of the manager indicators (by benefit, year and sex; by month; by selection method; lift, operational
    indicators, fairness), one table per sheet, in one language."""
    from rich.console import Console

    from riskrank.monitoring.report import build_report_from_db, build_report_from_world

    if out.suffix.lower() != ".xlsx":
        raise UserError(f"--out {out}: the report is an Excel workbook; give a file name ending in .xlsx")
    if cost_per_investigation is not None and cost_per_investigation <= 0:
        raise UserError("--cost-per-investigation must be positive")
    if world is not None:
        sheets = build_report_from_world(world, out, cost_per_investigation, lang.value)
    else:
        sheets = build_report_from_db(out, cost_per_investigation, lang.value)
    Console().print(f"wrote {out} ({len(sheets)} sheets: {', '.join(sheets)})")
