"""The world's agency decides from what it can see (issue 23): its FK-initiated profiles read only observable
signals, and its triage reads the truth only through each notification's content signal."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from riskrank.simulation import SimConfig
from riskrank.simulation.agency import (
    RULES,
    ObservableEvents,
    fit_informativeness,
    fk_selection,
    observable_events,
    triage,
)
from riskrank.simulation.calendar import HISTORY_FROM, day
from riskrank.simulation.generator import _stage_rng
from riskrank.simulation.investigations import InvestigationBuilder, _cohorts
from riskrank.simulation.notifications import build_notifications
from riskrank.simulation.population import build_population
from riskrank.simulation.signal_buffer import SignalBuffer
from riskrank.simulation.traces import build_traces
from riskrank.simulation.truth import build_truth
from riskrank.world import BENEFITS

SCALE, SEED = 0.01, 5


@pytest.fixture(scope="module")
def stages():
    """The stages before the investigations, and a second truth that differs in who is in error and when."""
    config = SimConfig()
    pop = build_population(_stage_rng(SEED, 1), SCALE, config.start, config.end, HISTORY_FROM)
    truth = build_truth(_stage_rng(SEED, 2), pop, config)
    buffer = SignalBuffer()
    strength = build_traces(_stage_rng(SEED, 3), pop, truth, config, buffer)
    notes = build_notifications(_stage_rng(SEED, 6), pop, truth, strength, config, SCALE, buffer)
    observable = observable_events(pop.case_person, pop.persons["household_id"].to_numpy(), buffer, notes.case, notes.day)
    rng = np.random.default_rng(0)
    other = replace(truth, erroneous=rng.permutation(truth.erroneous),
                    error_start=truth.error_start - rng.integers(0, 400, len(truth.error_start)))
    assert (other.erroneous != truth.erroneous).mean() > 0.02
    return config, pop, truth, other, observable, notes


def _builder(stages, truth) -> InvestigationBuilder:
    config, pop, _, _, observable, notes = stages
    return InvestigationBuilder(_stage_rng(SEED, 4), pop, truth, observable, notes, config, SCALE)


def _first_windows(config: SimConfig) -> list[tuple[int, int, int]]:
    return [c for c in _cohorts(config) if c[0] in (2018, 2022)]


def test_fk_selection_is_unchanged_when_only_the_truth_changes(stages) -> None:
    config, *_ = stages
    _, _, truth, other, _, _ = stages
    a, b = _builder(stages, truth), _builder(stages, other)
    picked = 0
    for b_index in range(len(BENEFITS)):
        for _, w0, w1 in _first_windows(config):
            case_a, day_a = a.fk_initiated(b_index, w0, w1, 20)
            case_b, day_b = b.fk_initiated(b_index, w0, w1, 20)
            np.testing.assert_array_equal(case_a, case_b)
            np.testing.assert_array_equal(day_a, day_b)
            picked += len(case_a)
    assert picked > 100


def test_fk_selection_takes_the_top_rule_scores_of_active_cases_within_capacity() -> None:
    # cases 0-3: case 1 has two recent events, case 2 one, case 0 one too old, case 3 none but a shared account
    events = ObservableEvents.build(4, np.array([1, 1, 2, 0]), np.array([340, 350, 345, 10]), np.ones(4),
                                    flag_day=np.array([np.iinfo(np.int64).max] * 3 + [0]))
    start, end = np.zeros(4, np.int64), np.full(4, 10_000)
    never = np.full(4, -10_000)
    zero = np.zeros(4)
    score = events.score(np.arange(4), 400)
    np.testing.assert_allclose(score, [0.0, 2.0, 1.0, 2.0])
    case, opened = fk_selection(events, np.arange(4), start, end, never, np.array([0.1, 0.5, 0.0, 0.2]), zero,
                                401, 430, 2)
    assert sorted(case) == [1, 3] and (opened == 401).all()  # ties go by priority: case 1 (0.5) before 3
    # a case investigated within the last year, or ended, is not selected
    recent = never.copy()
    recent[1] = 200  # within the year before the review on day 401
    case, _ = fk_selection(events, np.arange(4), start, end, recent, zero, zero, 401, 430, 2)
    assert 1 not in case and len(case) == 2
    ended = end.copy()
    ended[3] = 380
    case, _ = fk_selection(events, np.arange(4), start, ended, never, zero, zero, 401, 430, 2)
    assert sorted(case) == [1, 2]


def test_rules_are_over_observable_signal_kinds_only() -> None:
    from riskrank.world import SIGNAL_KINDS

    assert set(RULES) <= set(SIGNAL_KINDS)


def test_triage_without_informativeness_ignores_the_truth(stages) -> None:
    config, *_ = stages
    _, _, truth, other, _, _ = stages
    a, b = _builder(stages, truth), _builder(stages, other)
    taken = np.zeros(len(truth.erroneous), bool)
    differs = 0
    for b_index in range(len(BENEFITS)):
        for year, w0, w1 in _first_windows(config):
            note = a.triage_notes(b_index, w0, w1)
            np.testing.assert_array_equal(note, b.triage_notes(b_index, w0, w1))
            n_imp = max(1, len(note) // 8)
            np.testing.assert_array_equal(a.triage(note, n_imp, year, 0.0, taken), b.triage(note, n_imp, year, 0.0, taken))
            # the content signal is where the truth comes in: informative, the two truths triage differently
            differs += not np.array_equal(a.triage(note, n_imp, year, 4.0, taken), b.triage(note, n_imp, year, 4.0, taken))
    assert differs > 0


def test_triage_takes_the_highest_content_one_per_case_with_the_agency_quota() -> None:
    case = np.array([0, 0, 1, 2, 3, 4])
    agency = np.array([False, False, True, True, False, False])
    content = np.array([5.0, 4.0, 1.0, 0.5, 3.0, 2.0])
    taken = np.zeros(5, bool)
    chosen = triage(case, agency, content, np.zeros(6), 3, 0.34, taken)
    # one agency notification first (case 1), then the best others, one per case
    assert list(chosen) == [2, 0, 4]
    assert not taken.any()  # the caller's mask is left as it was
    taken[0] = True
    assert list(triage(case, agency, content, np.zeros(6), 2, 0.0, taken)) == [4, 5]


def test_fit_informativeness_finds_the_smallest_value_that_finds_enough() -> None:
    def hits(a: float) -> int:
        return int(10 * min(a, 3.0))
    assert fit_informativeness(hits, 0) == 0.0
    assert fit_informativeness(hits, 15) == pytest.approx(1.5, abs=1e-6)
    assert fit_informativeness(hits, 100) == 12.0  # not reachable: the cap


def test_fitted_informativeness_is_in_the_world_meta(tiny_world) -> None:
    fitted = tiny_world.meta["agency"]["informativeness"]
    assert set(fitted) == set(BENEFITS)
    values = [v for per_year in fitted.values() for v in per_year.values()]
    assert values and all(0.0 <= v <= 12.0 for v in values)
    assert any(v > 0 for v in values)


def test_burn_in_cohorts_start_at_history_from() -> None:
    cohorts = _cohorts(SimConfig())
    years = [c[0] for c in cohorts]
    assert years == [2018, 2019, 2020, 2021, 2022, 2023, 2024, 0]
    assert cohorts[0][1] == day(HISTORY_FROM)
