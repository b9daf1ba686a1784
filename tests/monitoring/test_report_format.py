"""The Excel report's layout details: headers in order, numbers written in the configured format."""

from __future__ import annotations

import pandas as pd

from riskrank.monitoring.report import build_workbook
from tests.monitoring.builders import outcome_rows


def _two_years() -> pd.DataFrame:
    rows = []
    for year in ("2022", "2023", "2024"):
        for sex in ("M", "F"):  # men first in the data: the header must not follow the data's order
            rows += outcome_rows("barnbidrag", sex, [1, 0, 0, 1, 1], closed=f"{year}-06-30", opened=f"{year}-01-10")
    return pd.DataFrame(rows)


def test_per_benefit_and_year_headers_are_in_year_then_sex_order() -> None:
    ws = build_workbook(_two_years(), _two_years(), 7240.0, "test", number_locale="sv")["Hit rate"]
    header = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == "Per benefit and year") + 1
    pairs = [(ws.cell(row=header, column=c).value, ws.cell(row=header + 1, column=c).value) for c in range(2, 11)]
    assert pairs == [(year, sex) for year in ("2022", "2023", "2024") for sex in ("Kvinnor", "Män", "Totalt")]


def test_about_sheet_writes_numbers_in_the_configured_format() -> None:
    about_sv = build_workbook(_two_years(), _two_years(), 7240.5, "test", number_locale="sv")["About"]
    about_en = build_workbook(_two_years(), _two_years(), 7240.5, "test", number_locale="en")["About"]
    assert "Cost per investigation (SEK): 7\u00a0240,5" in [c.value for c in about_sv["A"]]
    assert "Cost per investigation (SEK): 7,240.5" in [c.value for c in about_en["A"]]
