"""KPIs on hand-built outcomes equal hand-computed values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from riskrank.monitoring.kpis import fairness_by_sex, hit_rate_table, lift, operational_indicators, records
from tests.monitoring.builders import hand_built_outcomes, outcome_rows

COST = 1000.0


def _row(table: pd.DataFrame, **keys: str) -> pd.Series:
    mask = pd.Series(True, index=table.index)
    for key, value in keys.items():
        mask &= table[key] == value
    assert mask.sum() == 1, f"expected one row for {keys}, got {int(mask.sum())}"
    return table[mask].iloc[0]


def test_benefit_by_sex_values_totals_and_suppression() -> None:
    table = hit_rate_table(hand_built_outcomes(), by=["benefit", "sex"], cost_per_investigation=COST)
    f = _row(table, benefit="barnbidrag", sex="F")
    assert (f.closed, f.with_action, f.hit_rate) == (5, 3, 0.6)
    assert (f.detected_sek, f.prevented_sek, f.police_reports) == (6000, 500, 1)
    assert f.detected_per_sek_cost == pytest.approx(6000 / 5000)
    m = _row(table, benefit="barnbidrag", sex="M")
    assert (m.closed, m.hit_rate, m.detected_sek, m.prevented_sek, m.detected_per_sek_cost) == (4, 0.25, 4000, 100, 1.0)
    # The total includes the two investigations of unknown sex, so it is more than F + M.
    t = _row(table, benefit="barnbidrag", sex="total")
    assert (t.closed, t.with_action, t.detected_sek, t.police_reports) == (11, 6, 20000, 3)
    assert t.hit_rate == pytest.approx(6 / 11)
    assert t.detected_per_sek_cost == pytest.approx(20000 / 11000)
    # Three women in bostadsbidrag: fewer than four persons, every value suppressed.
    small = _row(table, benefit="bostadsbidrag", sex="F")
    assert small.suppressed
    assert all(math.isnan(small[c]) for c in ("closed", "hit_rate", "detected_sek", "police_reports"))
    assert not _row(table, benefit="bostadsbidrag", sex="M").suppressed
    assert _row(table, benefit="bostadsbidrag", sex="total").closed == 9
    # All benefits, per sex and in total.
    assert (_row(table, benefit="total", sex="F").closed, _row(table, benefit="total", sex="F").detected_sek) == (8, 6600)
    assert _row(table, benefit="total", sex="M").with_action == 5
    grand = _row(table, benefit="total", sex="total")
    grand_values = (grand.closed, grand.with_action, grand.detected_sek, grand.prevented_sek, grand.police_reports)
    assert grand_values == (20, 11, 21000, 600, 4)
    assert len(table) == 9
    # Published order within a benefit: women, men, total.
    assert list(table[table.benefit == "barnbidrag"].sex) == ["F", "M", "total"]


def test_by_month_and_selection() -> None:
    table = hit_rate_table(hand_built_outcomes(), by=["month", "selection"], cost_per_investigation=COST)
    march = _row(table, month="2024-03", selection="model")
    assert (march.closed, march.with_action) == (7, 5)
    april_random = _row(table, month="2024-04", selection="random")
    assert (april_random.closed, april_random.with_action, april_random.detected_sek) == (6, 4, 400)
    assert _row(table, month="2024-03", selection="random").suppressed  # three persons
    assert _row(table, month="total", selection="total").closed == 20


def test_no_breakdown_gives_one_total_row() -> None:
    table = hit_rate_table(hand_built_outcomes(), by=[], cost_per_investigation=COST)
    assert len(table) == 1 and table.iloc[0].closed == 20 and table.iloc[0].hit_rate == pytest.approx(11 / 20)


def test_unknown_breakdown_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown breakdown 'county'"):
        hit_rate_table(hand_built_outcomes(), by=["benefit", "county"])


def test_lift_with_bootstrap_interval() -> None:
    rows = outcome_rows("sjukpenning", "F", [1] * 6 + [0] * 4)
    rows += outcome_rows("sjukpenning", "M", [1] * 4 + [0] * 16, selection="random")
    result = lift(pd.DataFrame(rows))
    assert result["model_hit_rate"] == 0.6 and result["random_hit_rate"] == 0.2
    assert result["lift"] == pytest.approx(3.0)
    # Against the Katz log interval (the method the bootstrap replaced): the lower bounds agree within a third, and
    # with 4 random-sample hits the bootstrap's upper tail (1 hit of 20 gives 12) reaches beyond the log-normal one.
    se = math.sqrt(1 / 6 - 1 / 10 + 1 / 4 - 1 / 20)
    assert result["low"] < 3.0 < result["high"]
    assert result["low"] == pytest.approx(3 * math.exp(-1.959964 * se), rel=0.35)
    assert result["high"] >= 3 * math.exp(1.959964 * se)


def test_lift_without_random_hits_has_no_ratio() -> None:
    rows = outcome_rows("sjukpenning", "F", [1, 0]) + outcome_rows("sjukpenning", "F", [0, 0], selection="random")
    assert lift(pd.DataFrame(rows))["lift"] is None


def test_fairness_by_sex_parity_and_precision() -> None:
    # Model: 8 women (6 with action), 12 men (6 with action); random: 10 women, 10 men.
    rows = (outcome_rows("sjukpenning", "F", [1] * 6 + [0] * 2) + outcome_rows("sjukpenning", "M", [1] * 6 + [0] * 6)
            + outcome_rows("sjukpenning", "F", [0] * 10, selection="random")
            + outcome_rows("sjukpenning", "M", [0] * 9 + [1], selection="random"))
    result = {r["sex"]: r for r in fairness_by_sex(pd.DataFrame(rows), reference="M")}
    assert result["F"]["parity"] == pytest.approx((8 / 20) / (10 / 20))
    assert result["M"]["parity"] == pytest.approx((12 / 20) / (10 / 20))
    assert result["F"]["precision_ratio"] == pytest.approx((6 / 8) / (6 / 12))
    assert result["M"]["precision_ratio"] == pytest.approx(1.0) and result["M"]["reference"]
    assert result["F"]["precision_ratio_low"] < 1.5 < result["F"]["precision_ratio_high"]


def test_operational_indicators_month_end_balance_age_and_handling() -> None:
    spans = [("01-01", "01-11"), ("01-02", "01-22"), ("01-05", "01-05"), ("01-10", "01-31"), ("01-15", "02-14"),
             ("01-20", None), ("01-25", "03-01"), ("02-01", None), ("01-03", None)]
    frame = pd.DataFrame({
        "benefit": "barnbidrag",
        "opened_date": [pd.Timestamp(f"2024-{o}") for o, _ in spans],
        "closed_date": [pd.Timestamp(f"2024-{c}") if c else pd.NaT for _, c in spans],
    })
    table = operational_indicators(frame, until=pd.Timestamp("2024-03-31")).set_index("month")
    jan, feb, mar = table.loc["2024-01"], table.loc["2024-02"], table.loc["2024-03"]
    assert (jan.inflow, jan.closed, jan.open_at_month_end) == (8, 4, 4)
    assert (jan.handling_mean_days, jan.handling_median_days) == (12.75, 15.0)
    assert (jan.age_mean_days, jan.age_median_days) == (15.25, 13.5)
    assert jan.age_p10_days == pytest.approx(7.5) and jan.age_p90_days == pytest.approx(24.4)
    assert (feb.inflow, feb.closed, feb.open_at_month_end, feb.age_mean_days, feb.age_median_days) == (1, 1, 4, 40.0, 37.5)
    assert feb.handling_mean_days is None or math.isnan(feb.handling_mean_days)  # one case: suppressed
    assert (mar.inflow, mar.closed, mar.open_at_month_end) == (0, 1, 3)
    assert mar.age_mean_days is None or math.isnan(mar.age_mean_days)


def test_records_are_json_ready() -> None:
    table = hit_rate_table(hand_built_outcomes(), by=["benefit", "sex"], cost_per_investigation=COST)
    rows = records(table)
    small = next(r for r in rows if r["benefit"] == "bostadsbidrag" and r["sex"] == "F")
    assert small["hit_rate"] is None and small["suppressed"] is True
    assert isinstance(rows[0]["closed"], float)


def test_hit_rate_interval_is_left_out_where_it_would_say_nothing() -> None:
    # Every one of five investigations with action: every resample gives 100 %, so 100..100 would look certain.
    all_found = pd.DataFrame(outcome_rows("barnbidrag", "F", [1] * 5) + outcome_rows("barnbidrag", "M", [0, 1, 0, 1, 0]))
    table = hit_rate_table(all_found, by=["sex"], cost_per_investigation=COST)
    women, men = _row(table, sex="F"), _row(table, sex="M")
    assert women.hit_rate == 1.0 and math.isnan(women.hit_rate_low) and math.isnan(women.hit_rate_high)
    assert men.hit_rate_low < 0.4 < men.hit_rate_high
