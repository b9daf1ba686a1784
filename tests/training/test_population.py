"""The evaluation population on a real (tiny) world: the label is the world's honest truth on each date."""

from __future__ import annotations

import pandas as pd

from riskrank.training.dataset import LABEL, SplitBounds
from riskrank.training.population import CHANNELS, EVAL_DATE, NEW_FIND, agency_channels, monthly_capacity, truth_population
from riskrank.world import active_cases, in_error_on

BOUNDS = SplitBounds(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-07-01"), pd.Timestamp("2024-12-20"))


def test_label_is_in_error_on_the_date_so_corrected_cases_do_not_count(tiny_world) -> None:
    date = pd.Timestamp("2024-10-01")
    pop, _ = truth_population(tiny_world, BOUNDS, [date])
    assert (pop[EVAL_DATE] == date).all()
    assert (pop[LABEL].to_numpy() == in_error_on(tiny_world.truth, pop["case_id"], date)).all()
    truth = tiny_world.truth.set_index("case_id").loc[pop["case_id"]]
    corrected = (truth["error_start"] <= date) & (truth["error_end"] <= date)
    assert corrected.sum() > 0  # active cases whose error an action already corrected
    assert (pop.loc[corrected.to_numpy(), LABEL] == 0).all()


def test_cases_under_open_investigation_are_left_out_and_new_finds_marked(tiny_world) -> None:
    date = pd.Timestamp("2024-10-01")
    inv = tiny_world.investigations
    open_on = inv[(inv["opened_date"] <= date) & (inv["closed_date"].isna() | (inv["closed_date"] > date))]
    assert len(open_on) > 0
    active = active_cases(tiny_world.cases, date)["case_id"]
    assert active.isin(open_on["case_id"]).any()
    pop, _ = truth_population(tiny_world, BOUNDS, [date])
    assert not pop["case_id"].isin(open_on["case_id"]).any()
    assert len(pop) == (~active.isin(open_on["case_id"])).sum()
    signals = tiny_world.signals
    recent = (signals["date"] <= date) & (signals["date"] > date - pd.Timedelta(days=90))
    notes = signals[(signals["kind"] == "notification") & recent]
    notified = pop["case_id"].isin(notes["case_id"])
    assert notified.any() and (~pop.loc[notified, NEW_FIND]).all() and pop.loc[~notified, NEW_FIND].all()


def test_agency_channels_count_each_channels_investigations_and_their_truth(tiny_world) -> None:
    channels = agency_channels(tiny_world, BOUNDS)
    inv = tiny_world.investigations.merge(tiny_world.cases[["case_id", "benefit"]], on="case_id")
    window = inv[(inv["opened_date"] >= BOUNDS.test_start) & (inv["opened_date"] <= BOUNDS.last_opened)]
    assert set(channels["channel"]) <= set(CHANNELS) and channels["opened"].sum() == len(window)
    first = window.iloc[0]
    row = channels.set_index(["channel", "benefit"]).loc[(str(first["selection"]), str(first["benefit"]))]
    same = window[(window["selection"] == first["selection"]) & (window["benefit"] == first["benefit"])]
    assert row["opened"] == len(same)
    assert row["in_error"] == in_error_on(tiny_world.truth, same["case_id"], same["opened_date"]).sum()
    # the channels together use the capacity the population's worklists get (rounding per channel aside)
    total = channels.groupby("benefit")["per_month"].sum()
    capacity = pd.Series(monthly_capacity(tiny_world, BOUNDS))
    assert (abs(total - capacity.reindex(total.index)) <= 2).all()
