"""Fairness realism: true error rates ignore sex and born_abroad unless configured; innocent traces do not."""

from __future__ import annotations

import pandas as pd
import pytest

from riskrank.simulation import SimConfig, generate


def _error_rate_by(world, column: str) -> pd.Series:
    frame = world.truth.merge(world.cases[["case_id", "person_id"]], on="case_id").merge(world.persons, on="person_id")
    frame["erroneous"] = frame["error_start"].notna()
    return frame.groupby(column)["erroneous"].mean()


def test_default_true_error_rate_is_group_blind(tiny_world) -> None:
    by_sex = _error_rate_by(tiny_world, "sex")
    by_abroad = _error_rate_by(tiny_world, "born_abroad")
    assert by_sex["F"] / by_sex["M"] == pytest.approx(1.0, abs=0.2)
    assert by_abroad[True] / by_abroad[False] == pytest.approx(1.0, abs=0.2)


def test_configured_error_ratios_are_honoured() -> None:
    world = generate(0.01, 5, SimConfig(female_error_ratio=2.0, born_abroad_error_ratio=0.5, drift=False))
    by_sex = _error_rate_by(world, "sex")
    by_abroad = _error_rate_by(world, "born_abroad")
    assert by_sex["F"] / by_sex["M"] == pytest.approx(2.0, rel=0.15)
    assert by_abroad[True] / by_abroad[False] == pytest.approx(0.5, rel=0.15)
    assert world.meta["female_error_ratio"] == 2.0


def _innocent_trace_rate(world, kind: str) -> pd.Series:
    """Signals of `kind` per innocent person, by born_abroad (persons with no erroneous case)."""
    truth = world.truth.merge(world.cases[["case_id", "person_id"]], on="case_id")
    guilty = set(truth.loc[truth["error_start"].notna(), "person_id"])
    persons = world.persons[~world.persons["person_id"].isin(guilty) & world.persons["person_id"].isin(truth["person_id"])]
    counts = world.signals[world.signals["kind"] == kind].groupby("person_id").size()
    persons = persons.assign(n=persons["person_id"].map(counts).fillna(0))
    return persons.groupby("born_abroad")["n"].mean()


def test_innocent_traces_correlate_with_born_abroad_by_proxy_strength(tiny_world) -> None:
    strong = _innocent_trace_rate(tiny_world, "mail_returned")
    assert strong[True] > 1.8 * strong[False]
    none = _innocent_trace_rate(generate(0.003, 7, SimConfig(proxy_strength=0.0)), "mail_returned")
    assert none[True] / none[False] < 1.4


def test_notifications_about_innocent_people_fall_more_on_people_born_abroad_by_proxy_strength(tiny_world) -> None:
    strong = _innocent_trace_rate(tiny_world, "notification")
    assert strong[True] > 1.4 * strong[False]
    none = _innocent_trace_rate(generate(0.003, 7, SimConfig(proxy_strength=0.0)), "notification")
    assert none[True] / none[False] < 1.25
