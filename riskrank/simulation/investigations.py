"""Control investigations 2022-2024, calibrated by construction to Tabell 74-79 and 82.

Per benefit and year the number closed is scale x Tabell 74 (closing dates are kept inside the year).
A `random_share` of them is the random control sample, uniform over cases active on the opened date.
For the rest, the number aimed at truly erroneous cases is chosen so that the expected share with action
equals Tabell 75 given the benefit's detection probability; which erroneous cases and which innocent
look-alikes are picked depends on their traces (strong traces draw impulses). Amounts are rescaled per
benefit so that detected and prevented SEK per closed investigation match Tabell 76 and 77.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskrank.simulation import published
from riskrank.simulation.calendar import day, to_datetime
from riskrank.simulation.config import SimConfig
from riskrank.simulation.parameters import (
    ABROAD,
    ACCOUNT_NETWORK,
    BENEFIT_PARAMS,
    CARE_CHANGE,
    COHABITATION,
    DRIFT_UBM,
    INVESTIGATION_DAYS,
    PATTERNS,
)
from riskrank.simulation.population import Population
from riskrank.simulation.signal_buffer import SignalBuffer
from riskrank.simulation.truth import Truth
from riskrank.world import ACTION_TYPES, BENEFITS, IMPULSE_SOURCES, SIGNAL_SOURCES

FK_INITIATED_SHARE = 0.10
DETECTED_MONTHS_CAP = 60          # återkrav reaches back at most five years
STOPPING_PATTERNS = (ABROAD, ACCOUNT_NETWORK, COHABITATION, CARE_CHANGE)
# Impulse sources other than other agencies (whose share comes from Tabell 82).
OTHER_SOURCE_WEIGHTS = {"municipality": 0.16, "skatteverket": 0.14, "public": 0.22, "handler": 0.40, "school": 0.08}
SCHOOL_BENEFITS = ("barnbidrag", "omvardnadsbidrag")


@dataclass
class Drawn:
    case: np.ndarray
    opened: np.ndarray
    selection: np.ndarray   # index into SELECTIONS-like labels below
    target_error: np.ndarray
    year: np.ndarray        # calibration year of the cohort; 0 for the late cohort left open at the end


SEL_IMPULSE, SEL_FK, SEL_RANDOM = 0, 1, 2
SELECTION_LABELS = ("impulse", "fk_initiated", "random")


def _weighted_sample(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """k positions without replacement, probability proportional to weight (Efraimidis-Spirakis keys)."""
    positive = np.flatnonzero(weights > 0)
    k = min(k, len(positive))
    if k <= 0:
        return np.empty(0, np.int64)
    keys = np.log(rng.random(len(positive))) / weights[positive]
    return positive[np.argpartition(-keys, k - 1)[:k]]


def _exactly_share(rng: np.random.Generator, eligible: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Mark round(share x count) of the eligible rows, chosen at random: detection by construction, not by luck."""
    out = np.zeros(len(eligible), bool)
    rows = np.flatnonzero(eligible)
    if len(rows):
        expected = float(share[rows].mean()) * len(rows)
        k = int(np.floor(expected) + (rng.random() < expected % 1))
        out[rng.permutation(rows)[:k]] = True
    return out


def _cohorts(config: SimConfig) -> list[tuple[int, int, int]]:
    """(calibration year, first and last opened day): windows shifted back by a typical investigation length."""
    shift = int(INVESTIGATION_DAYS)
    end = day(config.end)
    # nothing opens before the world starts: the 2022 cohort opens in a shorter window
    out = [(y, max(day(f"{y}-01-01") - shift, day(config.start)), day(f"{y}-12-31") - shift) for y in published.YEARS]
    out.append((0, end - shift + 1, end))  # opened late 2024, mostly still open at the world's end
    return out


class InvestigationBuilder:
    def __init__(self, rng: np.random.Generator, pop: Population, truth: Truth, strength: np.ndarray,
                 config: SimConfig, scale: float) -> None:
        self.rng, self.pop, self.truth, self.strength, self.config, self.scale = rng, pop, truth, strength, config, scale
        self.end = day(config.end)
        self.case_end = pop.case_end.copy()                     # shortened when an action stops a case
        self.error_end = np.where(truth.erroneous, np.minimum(pop.case_end, self.end + 1), 0)
        self.used = np.zeros(len(pop.case_benefit), bool)       # an erroneous case is targeted once
        self.latest_opened = np.full(len(pop.case_benefit), -1, np.int64)

    def _count(self, benefit: str, year: int) -> int:
        if year == 0:
            return round(self.scale * published.value(benefit, published.CLOSED, 2024) * INVESTIGATION_DAYS / 365)
        return round(self.scale * published.value(benefit, published.CLOSED, year))

    def _sex_factor(self, benefit: str, cases: np.ndarray) -> np.ndarray:
        """Impulses concern women more or less often than their share of recipients (Tabell 74 vs Tabell 3)."""
        inv = published.value(benefit, published.CLOSED, 2024, "women") / published.value(benefit, published.CLOSED, 2024)
        rec = published.value(benefit, published.RECIPIENTS, 2024, "women") / published.value(
            benefit, published.RECIPIENTS, 2024)
        odds = (inv / (1 - inv)) / (rec / (1 - rec))
        return np.where(self.pop.sex_code[self.pop.case_person[cases]] == 0, odds, 1.0)

    def _draw_targets(self, cases: np.ndarray, lo: np.ndarray, hi: np.ndarray, w0: int, w1: int, weight: np.ndarray,
                      k: int) -> tuple[np.ndarray, np.ndarray]:
        """k cases whose [lo, hi) overlaps the window, weighted by weight x overlap; opened uniform in the overlap."""
        a, b = np.maximum(lo, w0), np.minimum(hi - 1, w1)
        overlap = np.maximum(b - a + 1, 0).astype(float)
        chosen = _weighted_sample(self.rng, weight * overlap, k)
        opened = a[chosen] + (self.rng.random(len(chosen)) * overlap[chosen]).astype(np.int64)
        return cases[chosen], opened

    def _draw_random(self, cases: np.ndarray, w0: int, w1: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """k (case, day) pairs uniform over active case-days in the window (rejection sampling, vectorised)."""
        got_case, got_day = [], []
        need = k
        starts, ends = self.pop.case_start[cases], self.case_end[cases]
        for _ in range(50):
            if need <= 0 or len(cases) == 0:
                break
            m = max(64, need * 20)
            pick = self.rng.integers(0, len(cases), m)
            t = self.rng.integers(w0, w1 + 1, m)
            ok = (starts[pick] <= t) & (t < ends[pick])
            got_case.append(cases[pick[ok]][:need])
            got_day.append(t[ok][:need])
            need -= int(ok.sum())
        return (np.concatenate(got_case) if got_case else np.empty(0, np.int64),
                np.concatenate(got_day) if got_day else np.empty(0, np.int64))

    def _draw_cohort(self, b_index: int, year: int, w0: int, w1: int) -> Drawn:
        rng, truth, benefit = self.rng, self.truth, BENEFITS[b_index]
        cases = np.flatnonzero(self.pop.case_benefit == b_index)
        n = self._count(benefit, year)
        n_random = int(np.floor(n * self.config.random_share) + (rng.random() < (n * self.config.random_share) % 1))
        n_rest = n - n_random
        hit = published.value(benefit, published.SHARE_WITH_ACTION, year or 2024) / 100.0
        expected = n_rest * min(1.0, hit / BENEFIT_PARAMS[benefit].detection)
        k_err = int(np.floor(expected) + (rng.random() < expected % 1))
        sex_w = self._sex_factor(benefit, cases)
        err_ok = truth.erroneous[cases] & ~self.used[cases]
        err_w = np.where(err_ok, (0.3 + self.strength[cases]) * sex_w, 0.0)
        e_case, e_open = self._draw_targets(cases, truth.error_start[cases], self.error_end[cases], w0, w1, err_w, k_err)
        self.used[e_case] = True
        inn_w = np.where(~truth.erroneous[cases], (0.15 + self.strength[cases]) * sex_w, 0.0)
        i_case, i_open = self._draw_targets(cases, self.pop.case_start[cases], self.case_end[cases], w0, w1, inn_w,
                                            n_rest - len(e_case))
        r_case, r_open = self._draw_random(cases, w0, w1, n_random)
        sel = np.concatenate([np.zeros(len(e_case) + len(i_case), np.int8), np.full(len(r_case), SEL_RANDOM, np.int8)])
        sel[(sel == SEL_IMPULSE) & (rng.random(len(sel)) < FK_INITIATED_SHARE)] = SEL_FK
        return Drawn(np.concatenate([e_case, i_case, r_case]), np.concatenate([e_open, i_open, r_open]), sel,
                     np.concatenate([np.ones(len(e_case), bool), np.zeros(len(i_case) + len(r_case), bool)]),
                     np.full(len(sel), year, np.int64))

    def _settle(self, drawn: Drawn) -> dict[str, np.ndarray]:
        """Close a cohort: closing day, whether the error was found, the action; stopped cases end."""
        rng, truth, pop = self.rng, self.truth, self.pop
        n, case, year = len(drawn.case), drawn.case, drawn.year
        duration = 5 + rng.gamma(3.0, (INVESTIGATION_DAYS - 5) / 3.0, n).astype(np.int64)
        # keep each cohort's closing inside its calibration year (Tabell 74 counts closed ones); the late cohort stays open
        first_day = np.full(n, self.end + 1) if year[0] == 0 else np.full(n, day(f"{year[0]}-01-01"))
        last_day = np.full(n, self.end + 400) if year[0] == 0 else np.full(n, day(f"{year[0]}-12-31"))
        closed = np.clip(drawn.opened + duration, np.maximum(first_day, drawn.opened + 1), np.maximum(last_day, drawn.opened + 1))
        is_closed = closed <= self.end
        benefit = pop.case_benefit[case]
        detection = np.array([BENEFIT_PARAMS[b].detection for b in BENEFITS])[benefit]
        error_active = truth.erroneous[case] & (truth.error_start[case] <= drawn.opened) & (drawn.opened < self.error_end[case])
        action = _exactly_share(rng, error_active & is_closed, detection)
        pattern = truth.pattern[case]
        running = self.case_end[case] > closed
        stopping = np.isin(pattern, [PATTERNS.index(p) for p in STOPPING_PATTERNS])
        refused = action & running & (truth.error_start[case] == pop.case_start[case]) & (
            drawn.opened - pop.case_start[case] < 60)
        action_type = np.full(n, -1, np.int8)  # index into ACTION_TYPES: refused, reduced, stopped, reclaimed
        action_type[action] = 3
        action_type[action & running] = np.where(stopping[action & running], 2, 1)
        action_type[refused] = 0

        months = np.clip((np.minimum(closed, self.error_end[case]) - truth.error_start[case]) / 30.44, 0, DETECTED_MONTHS_CAP)
        detected = np.where(action & (action_type != 0), truth.monthly_error_sek[case] * np.ceil(months), 0.0)
        prevented_base = np.where(action & running, truth.monthly_error_sek[case], 0.0)
        # an action ends the error; stopping actions end the case (not before another open investigation began)
        np.maximum.at(self.latest_opened, case, drawn.opened)
        ended = action & np.isin(action_type, [0, 2])
        stop = np.maximum(closed[ended], self.latest_opened[case[ended]] + 1)
        self.case_end[case[ended]] = np.minimum(self.case_end[case[ended]], stop)
        self.error_end[case[action]] = np.minimum(self.error_end[case[action]], closed[action])
        return {"case": case, "opened": drawn.opened, "selection": drawn.selection, "year": year, "closed": closed,
                "is_closed": is_closed, "action": action, "action_type": action_type, "detected": detected,
                "prevented_base": prevented_base}

    def run(self, buffer: SignalBuffer) -> pd.DataFrame:
        """All cohorts in time order (so a stopped case is not investigated later), then amounts, police, sources."""
        settled = [self._settle(self._draw_cohort(b, year, w0, w1))
                   for year, w0, w1 in _cohorts(self.config) for b in range(len(BENEFITS))
                   if self._count(BENEFITS[b], year) > 0]
        cols = {k: np.concatenate([s[k] for s in settled]) for k in settled[0]} if settled else {}
        if not cols:
            raise ValueError("the world is too small to hold any investigation; use a larger scale")
        rng, truth, pop = self.rng, self.truth, self.pop
        case, opened, year, closed, is_closed = cols["case"], cols["opened"], cols["year"], cols["closed"], cols["is_closed"]
        action, action_type = cols["action"], cols["action_type"]
        n = len(case)
        benefit = pop.case_benefit[case]
        pattern = truth.pattern[case]
        detected, prevented = self._calibrate_amounts(benefit, year, is_closed, cols["detected"], cols["prevented_base"])
        police = action & (rng.random(n) < self._police_p(benefit, year, action, truth.intentional[case]))
        drawn = Drawn(case, opened, cols["selection"], np.zeros(n, bool), year)

        source = self._impulse_sources(drawn, benefit, pattern, year)
        impulse = drawn.selection == SEL_IMPULSE
        notified = drawn.opened[impulse] - rng.integers(3, 40, int(impulse.sum()))
        buffer.add("notification", pop.case_person[case[impulse]] + 1, case[impulse] + 1, notified,
                   source=np.array([SIGNAL_SOURCES.index(s) for s in IMPULSE_SOURCES])[source[impulse]])

        order = np.lexsort((case, drawn.opened))
        closed_mask = is_closed[order]

        def nullable(values: np.ndarray, dtype: str) -> pd.api.extensions.ExtensionArray:
            arr = pd.array(values[order], dtype=dtype)
            arr[~closed_mask] = pd.NA
            return arr

        return pd.DataFrame({
            "investigation_id": np.arange(1, n + 1, dtype=np.int64),
            "case_id": case[order] + 1,
            "opened_date": to_datetime(drawn.opened[order]),
            "closed_date": pd.Series(to_datetime(closed[order])).where(closed_mask),
            "selection": pd.Categorical.from_codes(drawn.selection[order], categories=list(SELECTION_LABELS) + ["model"]),
            "impulse_source": pd.Categorical.from_codes(np.where(impulse, source, -1)[order], categories=list(IMPULSE_SOURCES)),
            "action": nullable(action, "boolean"),
            "action_type": pd.Categorical.from_codes(action_type[order], categories=list(ACTION_TYPES)),
            "detected_sek": nullable(np.round(detected, 0), "Float64").astype("float64"),
            "prevented_sek": nullable(np.round(prevented, 0), "Float64").astype("float64"),
            "police_report": nullable(police, "boolean"),
        })

    def _calibrate_amounts(self, benefit: np.ndarray, year: np.ndarray, is_closed: np.ndarray, detected: np.ndarray,
                           prevented_base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per benefit, scale detected SEK and set the prevented horizon so 2024 totals match Tabell 76/77 x scale."""
        detected, prevented = detected.copy(), prevented_base.copy()
        in_2024 = (year == 2024) & is_closed
        for b_index, name in enumerate(BENEFITS):
            mine = benefit == b_index
            target_det = self.scale * 1000 * published.value(name, published.DETECTED_KSEK, 2024)
            target_prev = self.scale * 1000 * published.value(name, published.PREVENTED_KSEK, 2024)
            got_det = detected[mine & in_2024].sum()
            got_prev = prevented_base[mine & in_2024].sum()
            factor = np.clip(target_det / got_det, 0.05, 20.0) if got_det > 0 else 1.0
            detected[mine] *= factor
            self.truth.monthly_error_sek[self.pop.case_benefit == b_index] *= factor
            # prevented = months of future payments avoided; the horizon is what Tabell 77 implies
            horizon = np.clip(target_prev / (factor * got_prev), 0.5, 300.0) if got_prev > 0 else 6.0
            prevented[mine] = prevented_base[mine] * factor * horizon
        return detected, prevented

    def _police_p(self, benefit: np.ndarray, year: np.ndarray, action: np.ndarray, intentional: np.ndarray) -> np.ndarray:
        """P(police report | action), intentional errors far more often, so the share matches Tabell 79."""
        p = np.zeros(len(benefit))
        for b_index, name in enumerate(BENEFITS):
            for y in published.YEARS:
                mine = (benefit == b_index) & (np.where(year == 0, 2024, year) == y)
                closed = published.value(name, published.CLOSED, y)
                with_action = closed * published.value(name, published.SHARE_WITH_ACTION, y) / 100
                ratio = min(0.97, published.value(name, published.POLICE, y) / with_action)
                acted = mine & action
                q = intentional[acted].mean() if acted.any() else 0.5
                p_int = min(0.97, ratio / (q + 0.15 * (1 - q)))
                # when intentional errors alone cannot carry the share, others are reported more often too
                p_other = float(np.clip((ratio - q * p_int) / (1 - q), 0.0, 0.97)) if q < 1 else 0.0
                p[mine] = np.where(intentional[mine], p_int, p_other)
        return p

    def _impulse_sources(self, drawn: Drawn, benefit: np.ndarray, pattern: np.ndarray, year: np.ndarray) -> np.ndarray:
        rng = self.rng
        n = len(benefit)
        source = np.zeros(n, np.int64)
        for y in published.YEARS:
            # agency notifications as a share of impulses, so that of all investigations it matches Tabell 82
            agency = min(0.9, published.agency_notification_share(y) / (1 - FK_INITIATED_SHARE) / (1 - self.config.random_share))
            mine = np.where(year == 0, 2024, year) == y
            weights = np.array([agency] + [(1 - agency) * w for w in OTHER_SOURCE_WEIGHTS.values()])
            labels = ["agency", *OTHER_SOURCE_WEIGHTS]
            draw = rng.choice(len(labels), int(mine.sum()), p=weights / weights.sum())
            source[mine] = [IMPULSE_SOURCES.index(labels[d]) for d in draw]
        school_ok = np.isin(benefit, [BENEFITS.index(b) for b in SCHOOL_BENEFITS])
        source[(source == IMPULSE_SOURCES.index("school")) & ~school_ok] = IMPULSE_SOURCES.index("handler")
        ubm = (pattern == PATTERNS.index(DRIFT_UBM)) & (rng.random(n) < 0.7)
        source[ubm] = IMPULSE_SOURCES.index("ubm")
        return source
