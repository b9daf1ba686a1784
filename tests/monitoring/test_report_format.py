"""The Excel report's format: one table per sheet under a legend row, a frozen header with filters, column widths,
numbers stored as numbers (years as numbers, months as dates), one language per workbook, and suppressed cells
told apart from cells without data."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from riskrank.monitoring.report import build_workbook
from riskrank.monitoring.report_labels import LABELS, NO_DATA, SUPPRESSED
from tests.monitoring.builders import hand_built_outcomes, outcome_rows

TABLE_SHEETS = ("sheet.benefit_year", "sheet.month", "sheet.selection_year", "sheet.lift", "sheet.operational", "sheet.fairness",
                "sheet.group_fairness")


def _three_years() -> pd.DataFrame:
    rows = []
    for year in ("2022", "2023", "2024"):
        for sex in ("M", "F"):  # men first in the data: the rows must not follow the data's order
            rows += outcome_rows("barnbidrag", sex, [1, 0, 0, 1, 1], closed=f"{year}-06-30", opened=f"{year}-01-10")
    rows += outcome_rows("barnbidrag", "F", [1, 1, 0], selection="random", closed="2024-06-30")  # three persons
    return pd.DataFrame(rows)


def _workbook(lang: str = "sv", frame: pd.DataFrame | None = None):
    frame = _three_years() if frame is None else frame
    return build_workbook(frame, frame, 7240.0, "test", number_locale="sv", lang=lang)


def _table(ws) -> list[dict]:
    header = [c.value for c in ws[2]]
    return [dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=3, values_only=True) if row[0] is not None]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_every_table_sheet_has_a_legend_a_frozen_header_filters_and_widths(lang: str) -> None:
    wb = _workbook(lang)
    text = LABELS[lang]
    assert wb.sheetnames == [text["sheet.about"], *(text[key] for key in TABLE_SHEETS)]
    assert wb[text["sheet.about"]]["A2"].value == text["legend"]
    for key in TABLE_SHEETS:
        ws = wb[text[key]]
        legend = ws["A1"].value
        assert legend == text["legend"] and SUPPRESSED in legend and NO_DATA in legend
        assert ws.freeze_panes == "A3"  # the legend and the header row stay in view
        columns = sum(1 for c in ws[2] if c.value is not None)
        assert ws.auto_filter.ref.startswith(f"A2:{get_column_letter(columns)}")
        assert all(ws.cell(row=2, column=j).font.bold for j in range(1, columns + 1))
        for j in range(1, columns + 1):
            width = ws.column_dimensions[get_column_letter(j)].width
            texts = [v for v in (ws.cell(row=r, column=j).value for r in range(3, ws.max_row + 1))
                     if isinstance(v, str) and v not in (text["fairness_note"], text["group_fairness_note"])]  # notes run across
            longest = max([len(v) for v in texts] + [len(ws.cell(row=2, column=j).value) // 2])
            assert width >= min(longest, 39) and width >= 8, f"{ws.title} column {j}: width {width} for {longest} characters"


def test_numbers_are_stored_as_numbers_years_as_numbers_months_as_dates() -> None:
    text = LABELS["sv"]
    wb = _workbook("sv")
    rows = _table(wb[text["sheet.benefit_year"]])
    assert [(r[text["year"]], r[text["sex"]]) for r in rows if r[text["benefit"]] == "barnbidrag"] == [
        (year, sex) for year in (2022, 2023, 2024) for sex in ("Kvinnor", "Män", "Totalt")]
    women_2024 = next(r for r in rows
                      if r[text["benefit"]] == "barnbidrag" and r[text["year"]] == 2024 and r[text["sex"]] == "Kvinnor")
    assert isinstance(women_2024[text["closed"]], int) and women_2024[text["closed"]] == 8
    assert women_2024[text["hit_rate"]] == pytest.approx(5 / 8)
    low, high = women_2024[f"{text['hit_rate']}, {text['low']}"], women_2024[f"{text['hit_rate']}, {text['high']}"]
    assert isinstance(low, float) and low < 5 / 8 < high
    ws = wb[text["sheet.benefit_year"]]
    year_cell = ws.cell(row=3, column=2)
    assert isinstance(year_cell.value, int) and year_cell.number_format == "0"
    assert ws.cell(row=3, column=6).number_format == "0.0%"
    month_ws = wb[text["sheet.month"]]
    month = month_ws.cell(row=3, column=1)
    assert isinstance(month.value, date | datetime) and month.number_format == "yyyy-mm"
    lift = _table(wb[text["sheet.lift"]])
    assert all(isinstance(r[text["first_year"]], int) and isinstance(r[text["last_year"]], int) for r in lift)
    periods = {(r[text["first_year"]], r[text["last_year"]]) for r in lift}
    assert periods == {(2022, 2024), (2022, 2022), (2023, 2023), (2024, 2024)}


def test_suppressed_is_told_apart_from_no_data() -> None:
    text = LABELS["sv"]
    rows = _table(_workbook("sv", hand_built_outcomes())[text["sheet.month"]])
    by_key = {(r[text["month"]].strftime("%Y-%m"), r[text["sex"]]): r for r in rows}
    # March: 8 women and no man (the men's investigations closed in April): zero closed, a rate with no data.
    men_march = by_key[("2024-03", "Män")]
    assert men_march[text["closed"]] == 0 and men_march[text["hit_rate"]] == NO_DATA
    selection = _table(_workbook("sv", hand_built_outcomes())[text["sheet.benefit_year"]])
    small = next(r for r in selection if r[text["benefit"]] == "bostadsbidrag" and r[text["sex"]] == "Kvinnor")
    assert small[text["closed"]] == SUPPRESSED and small[text["hit_rate"]] == SUPPRESSED  # three women


@pytest.mark.parametrize(("lang", "other"), [("sv", "en"), ("en", "sv")])
def test_one_language_per_workbook(lang: str, other: str) -> None:
    wb = _workbook(lang, hand_built_outcomes())
    strings = {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    foreign = {v for k, v in LABELS[other].items() if v != LABELS[lang][k]}
    assert strings & foreign == set()
    assert {LABELS[lang][k] for k in ("benefit", "closed", "hit_rate", "total", "sex.F", "legend")} <= strings


def test_the_labels_of_both_languages_name_the_same_things() -> None:
    assert LABELS["sv"].keys() == LABELS["en"].keys()


def test_about_sheet_writes_numbers_in_the_configured_format() -> None:
    frame = _three_years()
    about_sv = build_workbook(frame, frame, 7240.5, "test", number_locale="sv")[LABELS["sv"]["sheet.about"]]
    about_en = build_workbook(frame, frame, 7240.5, "test", number_locale="en", lang="en")["About"]
    assert "Kostnad per utredning (kr): 7\u00a0240,5" in [c.value for c in about_sv["A"]]
    assert "Cost per investigation (SEK): 7,240.5" in [c.value for c in about_en["A"]]
