"""Signals carry real but noisy information: traces are far more common around errors, yet innocent people have them too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskrank.simulation.writer import replace_world
from riskrank.world import read_world


def _persons_with(world, kind: str) -> set[int]:
    return set(world.signals.loc[world.signals["kind"] == kind, "person_id"])


def _people(world) -> tuple[pd.Series, pd.DataFrame]:
    """(erroneous per person, distinct (person_id, pattern) pairs)."""
    frame = world.truth.merge(world.cases[["case_id", "person_id"]], on="case_id")
    erroneous = frame["error_start"].notna().groupby(frame["person_id"]).any()
    pairs = frame.loc[frame["pattern"].notna(), ["person_id", "pattern"]].astype({"pattern": str}).drop_duplicates()
    return erroneous, pairs


@pytest.mark.parametrize(("pattern", "kind"), [
    ("abroad", "mail_returned"), ("abroad", "foreign_activity"), ("cohabitation", "household_change"),
    ("study_break", "study_break"),
])
def test_pattern_traces_are_much_more_common_than_among_innocents(tiny_world, pattern: str, kind: str) -> None:
    erroneous, pairs = _people(tiny_world)
    has = erroneous.index.isin(list(_persons_with(tiny_world, kind)))
    with_pattern = erroneous.index.isin(pairs.loc[pairs["pattern"] == pattern, "person_id"])
    innocent = ~erroneous.to_numpy()
    rate_err, rate_innocent = has[with_pattern].mean(), has[innocent].mean()
    assert rate_err > 3 * rate_innocent, (rate_err, rate_innocent)
    assert rate_err < 0.95  # partial: never every error leaves the trace
    assert has[innocent].sum() > 0  # look-alikes: innocent people have the trace too


def test_working_errors_show_income_in_benefit_months(tiny_world) -> None:
    s = tiny_world.signals
    days = s[s["kind"] == "benefit_days"][["person_id", "case_id", "date"]]
    income = s[s["kind"] == "income_declaration"][["person_id", "date", "value"]]
    both = days.merge(income, on=["person_id", "date"], how="left")
    truth = tiny_world.truth.set_index("case_id")
    both["working"] = both["case_id"].map(truth["pattern"].astype(object)).isin(["working", "ubm_overwork"]) & (
        both["date"] >= both["case_id"].map(truth["error_start"]))
    sick = both["case_id"].isin(tiny_world.cases.loc[tiny_world.cases["benefit"] == "sjukpenning", "case_id"])
    honest = both[sick & ~both["working"]]["value"].fillna(0).mean()
    cheating = both[sick & both["working"]]["value"].fillna(0).mean()
    assert cheating > 2 * honest


def test_misreported_income_is_below_what_employers_declare(tiny_world) -> None:
    s = tiny_world.signals
    stated = s[s["kind"] == "application_income"].set_index("case_id")["value"]
    truth = tiny_world.truth.set_index("case_id")
    cases = tiny_world.cases.set_index("case_id")
    bb = cases.index[(cases["benefit"] == "bostadsbidrag") & cases.index.isin(stated.index)]
    person_income = s[s["kind"] == "income_declaration"].groupby("person_id")["value"].median() * 12
    ratio = stated.loc[bb] / cases.loc[bb, "person_id"].map(person_income).to_numpy()
    application_lies = (truth.loc[bb, "pattern"] == "income_misreport") & (truth.loc[bb, "error_cause"] == "application")
    assert application_lies.sum() > 0
    assert ratio[application_lies.to_numpy()].median() < 0.75 < ratio[~application_lies.to_numpy()].median()


def test_organised_rings_share_bank_accounts_across_households(tiny_world) -> None:
    accounts = tiny_world.signals[tiny_world.signals["kind"] == "bank_account_registered"]
    accounts = accounts.merge(tiny_world.persons[["person_id", "household_id"]], on="person_id")
    households = accounts.groupby("value")["household_id"].nunique()
    shared = households[households > 1].index
    ring_cases = accounts[accounts["value"].isin(shared)]["case_id"]
    truth = tiny_world.truth.set_index("case_id")
    pattern = truth.loc[ring_cases.dropna().astype(int), "pattern"].astype(object)
    # rings are mostly organised fraud; the rest are look-alikes (guardians, innocent members)
    assert (pattern == "account_network").mean() > 5 * (truth["pattern"] == "account_network").mean()
    assert pattern.isna().any()


def test_a_crash_while_writing_keeps_the_old_world(tiny_world, tmp_path) -> None:
    out = tmp_path / "world"
    replace_world(tiny_world, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def crash(_folder) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        replace_world(tiny_world, out, extra=crash)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world"]
    assert np.isclose(read_world(out).cases["monthly_amount_sek"].sum(), tiny_world.cases["monthly_amount_sek"].sum())


def test_recovery_below_2000_sek_is_pursued_only_where_intent_is_suspected(tiny_world) -> None:
    inv = tiny_world.investigations.merge(tiny_world.truth[["case_id", "intentional"]], on="case_id")
    closed = inv[inv["closed_date"].notna()]
    small = closed[(closed["detected_sek"] > 0) & (closed["detected_sek"] < 2000)]
    assert small["intentional"].fillna(False).astype(bool).all()
    # an error found after its case ended leaves only recovery: below the threshold, no action at all
    reclaimed = closed[closed["action_type"] == "reclaimed"]
    assert ((reclaimed["detected_sek"] >= 2000) | reclaimed["intentional"].fillna(False).astype(bool)).all()
    assert (closed.loc[closed["action"].astype(bool), "detected_sek"] == 0).any() or len(closed) < 100


def test_innocent_people_also_let_permits_lapse(tiny_world) -> None:
    s = tiny_world.signals
    expired = s[s["kind"] == "permit_expiry"].groupby("person_id")["date"].max()
    renewed = s[s["kind"] == "permit_renewed"].groupby("person_id")["date"].max()
    unrenewed = expired.index[~(renewed.reindex(expired.index) >= expired - pd.Timedelta(days=45)).fillna(False)]
    erroneous, _ = _people(tiny_world)
    innocent_holders = expired.index[~erroneous.reindex(expired.index).fillna(False).to_numpy()]
    lapsed = innocent_holders.isin(unrenewed)
    assert 0.06 < lapsed.mean() < 0.5, lapsed.mean()  # no longer (almost) a pure error trace


def test_assistance_hours_of_honest_and_inflated_reports_overlap(tiny_world) -> None:
    s = tiny_world.signals
    hours = s[s["kind"] == "assistance_hours"][["case_id", "date", "value"]]
    cases = tiny_world.cases.set_index("case_id")
    granted = cases.loc[hours["case_id"].astype(int), "monthly_amount_sek"].to_numpy() / 320.0
    ratio = hours["value"].to_numpy() / granted
    truth = tiny_world.truth.set_index("case_id").loc[hours["case_id"].astype(int)]
    month = pd.Timedelta(days=31)
    when = hours["date"].to_numpy()
    inflated = ((truth["pattern"].astype(object) == "assistance_hours") & (truth["error_start"] + month <= when)
                & (truth["error_end"].isna() | (truth["error_end"] - month > when))).to_numpy()
    honest = truth["error_start"].isna().to_numpy()
    assert inflated.any() and honest.any()
    assert ratio[inflated].min() < ratio[honest].max()  # the ranges overlap
    assert np.median(ratio[inflated]) > np.median(ratio[honest])


def test_sham_separation_shows_a_registered_separation_not_a_move_in(tiny_world) -> None:
    erroneous, pairs = _people(tiny_world)
    sham = set(pairs.loc[pairs["pattern"] == "cohabitation", "person_id"])
    s = tiny_world.signals
    moves = s[(s["kind"] == "address_change") & s["person_id"].isin(sham)]
    households = set(tiny_world.persons["household_id"])
    assert len(moves) > 0
    # moves go to addresses of one's own, never into another existing household (what a sham separation hides)
    assert not moves["value"].astype(int).isin(households).any()
    alone = s[(s["kind"] == "household_change") & s["person_id"].isin(sham) & (s["value"] == 1)]
    assert len(alone) > 0
