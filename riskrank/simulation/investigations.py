"""Control investigations 2022-2024, calibrated by construction to Tabell 74-79 and 82.

Per benefit and year the number closed is scale x Tabell 74 (closing dates are kept inside the year).
A `random_share` of them is the random control sample, uniform over cases active on the opened date;
a tenth of the rest is FK-initiated (chosen by the cases' traces) and the others are impulses: the agency
triages the notifications that sources sent (notifications.py, drawn before and without any investigation)
and opens investigations on some of them, up to its capacity. The triage's number aimed at truly
erroneous cases is chosen so that the expected share with action equals Tabell 75 given the benefit's
detection probability, and the share of impulses from other agencies' notifications follows Tabell 82.
Amounts are rescaled per benefit so that detected and prevented SEK per closed investigation match
Tabell 76 and 77; police reports follow Tabell 79 per benefit and Tabell 82 for agency notifications.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskrank.simulation import published
from riskrank.simulation.calendar import day, to_datetime
from riskrank.simulation.config import SimConfig
from riskrank.simulation.notifications import FK_INITIATED_SHARE, Notifications
from riskrank.simulation.parameters import (
    ABROAD,
    ACCOUNT_NETWORK,
    BENEFIT_PARAMS,
    CARE_CHANGE,
    COHABITATION,
    INVESTIGATION_DAYS,
    PATTERNS,
)
from riskrank.simulation.population import Population
from riskrank.simulation.truth import Truth
from riskrank.world import ACTION_TYPES, BENEFITS, IMPULSE_SOURCES

DETECTED_MONTHS_CAP = 60          # återkrav reaches back at most five years
STOPPING_PATTERNS = (ABROAD, ACCOUNT_NETWORK, COHABITATION, CARE_CHANGE)
TRIAGE_DAYS = (3, 40)             # a triaged notification becomes an investigation 3-40 days after it came in
AGENCY = IMPULSE_SOURCES.index("agency")
RECOVERY_THRESHOLD_SEK = 2000.0  # FK does not pursue återkrav below 2,000 SEK unless fraud is suspected
# Police reports: an action on an intentional error is reported far more often than one on a mistake.
POLICE_UNINTENTIONAL_FACTOR = 0.15


@dataclass
class Drawn:
    case: np.ndarray
    opened: np.ndarray
    selection: np.ndarray   # index into SELECTION_LABELS
    source: np.ndarray      # index into IMPULSE_SOURCES; -1 unless an impulse
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


def _round_at_random(rng: np.random.Generator, x: float) -> int:
    """x rounded up with probability equal to its fraction, so counts hold on average."""
    return int(np.floor(x) + (rng.random() < x % 1))


class InvestigationBuilder:
    def __init__(self, rng: np.random.Generator, pop: Population, truth: Truth, strength: np.ndarray,
                 notifications: Notifications, config: SimConfig, scale: float) -> None:
        self.rng, self.pop, self.truth, self.strength, self.config, self.scale = rng, pop, truth, strength, config, scale
        self.end = day(config.end)
        self.case_end = pop.case_end.copy()                     # shortened when an action stops a case
        self.error_end = np.where(truth.erroneous, np.minimum(pop.case_end, self.end + 1), 0)
        self.used = np.zeros(len(pop.case_benefit), bool)       # an erroneous case is targeted once
        self.latest_opened = np.full(len(pop.case_benefit), -1, np.int64)
        self.notes = notifications
        # when a notification would become an investigation if triaged (the triage's own draw)
        self.note_opened = notifications.day + rng.integers(*TRIAGE_DAYS, len(notifications.day))
        note_benefit = pop.case_benefit[notifications.case]
        self.notes_of = [np.flatnonzero(note_benefit == b) for b in range(len(BENEFITS))]
        self.sex_weight = np.ones(len(pop.case_benefit))
        for b_index, name in enumerate(BENEFITS):
            mine = np.flatnonzero(pop.case_benefit == b_index)
            self.sex_weight[mine] = self._sex_factor(name, mine)

    def _count(self, benefit: str, year: int) -> int:
        if year == 0:
            return round(self.scale * published.required(benefit, published.CLOSED, 2024) * INVESTIGATION_DAYS / 365)
        return round(self.scale * published.required(benefit, published.CLOSED, year))

    def _sex_factor(self, benefit: str, cases: np.ndarray) -> np.ndarray:
        """Impulses concern women more or less often than their share of recipients (Tabell 74 vs Tabell 3)."""
        inv = published.required(benefit, published.CLOSED, 2024, "women") / published.required(benefit, published.CLOSED, 2024)
        rec = published.required(benefit, published.RECIPIENTS, 2024, "women") / published.required(
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

    def _in_error(self, case: np.ndarray, when: np.ndarray) -> np.ndarray:
        t = self.truth
        return t.erroneous[case] & (t.error_start[case] <= when) & (when < self.error_end[case])

    def _pick_cases(self, case: np.ndarray, weight: np.ndarray, k: int, taken: np.ndarray) -> np.ndarray:
        """Up to k positions with distinct cases not yet `taken` (a case bool mask), weighted; updates `taken`."""
        chosen: list[np.ndarray] = []
        weight = weight.copy()
        for _ in range(4):
            need = k - sum(len(c) for c in chosen)
            weight[taken[case]] = 0.0
            if need <= 0 or not (weight > 0).any():
                break
            pos = _weighted_sample(self.rng, weight, need)
            pos = pos[np.unique(case[pos], return_index=True)[1]]
            taken[case[pos]] = True
            chosen.append(pos)
        return np.concatenate(chosen) if chosen else np.empty(0, np.int64)

    def _triage(self, b_index: int, year: int, w0: int, w1: int, n_imp: int, aimed: float,
                taken: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The agency's triage: which notifications about the benefit's cases become impulse investigations.

        It reads each notification (so it aims at real errors as well as the benefit's hit rate implies) and
        takes other agencies' notifications first, up to their Tabell 82 share. The rest are never investigated.
        """
        note = self.notes_of[b_index]
        opened = self.note_opened[note]
        case = self.notes.case[note]
        ok = (opened >= w0) & (opened <= w1) & (self.pop.case_start[case] <= opened) & (opened < self.case_end[case])
        note, opened, case = note[ok], opened[ok], case[ok]
        source = self.notes.source[note]
        in_error = self._in_error(case, opened)
        share = published.agency_notification_share(year or 2024)
        agency_share = min(0.9, share / (1 - FK_INITIATED_SHARE) / (1 - self.config.random_share))
        k_err = _round_at_random(self.rng, n_imp * aimed)
        picked: list[np.ndarray] = []
        for pool, k, weight in (
            (in_error & ~self.used[case], k_err, self.sex_weight[case]),
            (~in_error, n_imp - k_err, self.sex_weight[case] * (0.15 + self.strength[case])),
        ):
            k_agency = _round_at_random(self.rng, k * agency_share)
            first = self._pick_cases(case, np.where(pool & (source == AGENCY), weight, 0.0), k_agency, taken)
            rest = self._pick_cases(case, np.where(pool & (source != AGENCY), weight, 0.0), k - len(first), taken)
            more = self._pick_cases(case, np.where(pool, weight, 0.0), k - len(first) - len(rest), taken)
            picked += [first, rest, more]
        pos = np.concatenate(picked)
        self.used[case[pos][in_error[pos]]] = True
        return case[pos], opened[pos], source[pos]

    def _draw_cohort(self, b_index: int, year: int, w0: int, w1: int) -> Drawn:
        rng, truth, benefit = self.rng, self.truth, BENEFITS[b_index]
        cases = np.flatnonzero(self.pop.case_benefit == b_index)
        n = self._count(benefit, year)
        n_random = _round_at_random(rng, n * self.config.random_share)
        n_fk = _round_at_random(rng, (n - n_random) * FK_INITIATED_SHARE)
        n_imp = n - n_random - n_fk
        hit = published.required(benefit, published.SHARE_WITH_ACTION, year or 2024) / 100.0
        aimed = min(1.0, hit / BENEFIT_PARAMS[benefit].detection)
        taken = np.zeros(len(self.pop.case_benefit), bool)   # one investigation per case and cohort
        m_case, m_open, m_source = self._triage(b_index, year, w0, w1, n_imp, aimed, taken)
        # FK-initiated: the agency's own selection, led by the cases' traces
        k_err = _round_at_random(rng, n_fk * aimed)
        free = ~taken[cases]
        trace_w = self.sex_weight[cases] * self.strength[cases]
        err_w = np.where(truth.erroneous[cases] & ~self.used[cases] & free, 0.3 * self.sex_weight[cases] + trace_w, 0.0)
        e_case, e_open = self._draw_targets(cases, truth.error_start[cases], self.error_end[cases], w0, w1, err_w, k_err)
        self.used[e_case] = True
        inn_w = np.where(~truth.erroneous[cases] & free, 0.15 * self.sex_weight[cases] + trace_w, 0.0)
        i_case, i_open = self._draw_targets(cases, self.pop.case_start[cases], self.case_end[cases], w0, w1, inn_w,
                                            n_fk - len(e_case))
        r_case, r_open = self._draw_random(cases, w0, w1, n_random)
        n_fk_got = len(e_case) + len(i_case)
        sel = np.concatenate([np.full(len(m_case), SEL_IMPULSE), np.full(n_fk_got, SEL_FK), np.full(len(r_case), SEL_RANDOM)])
        source = np.concatenate([m_source, np.full(n_fk_got + len(r_case), -1)])
        return Drawn(np.concatenate([m_case, e_case, i_case, r_case]), np.concatenate([m_open, e_open, i_open, r_open]),
                     sel.astype(np.int8), source.astype(np.int64), np.full(len(sel), year, np.int64))

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
        return {"case": case, "opened": drawn.opened, "selection": drawn.selection, "source": drawn.source,
                "year": year, "closed": closed,
                "is_closed": is_closed, "action": action, "action_type": action_type, "detected": detected,
                "prevented_base": prevented_base}

    def run(self) -> pd.DataFrame:
        """All cohorts in time order (so a stopped case is not investigated later), then amounts and police."""
        cohorts = [self._draw_cohort(b, year, w0, w1) for year, w0, w1 in _cohorts(self.config)
                   for b in range(len(BENEFITS)) if self._count(BENEFITS[b], year) > 0]
        settled = [self._settle(drawn) for drawn in cohorts if len(drawn.case)]
        cols = {k: np.concatenate([s[k] for s in settled]) for k in settled[0]} if settled else {}
        if not cols:
            raise ValueError("the world is too small to hold any investigation; use a larger scale")
        rng, truth, pop = self.rng, self.truth, self.pop
        case, opened, year, closed, is_closed = cols["case"], cols["opened"], cols["year"], cols["closed"], cols["is_closed"]
        action, action_type, source = cols["action"], cols["action_type"], cols["source"]
        n = len(case)
        benefit = pop.case_benefit[case]
        waived = action & ~truth.intentional[case]
        detected, prevented = self._calibrate_amounts(benefit, year, is_closed, cols["detected"], cols["prevented_base"],
                                                      waived)
        # an error found after the case ended leaves only recovery to decide: below the threshold, no action at all
        dropped = action & (action_type == ACTION_TYPES.index("reclaimed")) & (detected == 0) & waived
        action, action_type = action & ~dropped, np.where(dropped, -1, action_type).astype(np.int8)
        police = action & (rng.random(n) < self._police_p(benefit, year, action, truth.intentional[case],
                                                          source == AGENCY, is_closed))
        drawn = Drawn(case, opened, cols["selection"], source, year)
        impulse = drawn.selection == SEL_IMPULSE

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
                           prevented_base: np.ndarray, waived_if_small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per benefit, scale detected SEK and set the prevented horizon so 2024 totals match Tabell 76/77 x scale.

        Recovery below RECOVERY_THRESHOLD_SEK is not pursued where `waived_if_small` (no suspected intent):
        those amounts are not detected (Tabell 76 counts recovery decisions), so the scale is solved without them.
        """
        detected, prevented = detected.copy(), prevented_base.copy()
        in_2024 = (year == 2024) & is_closed
        for b_index, name in enumerate(BENEFITS):
            mine = benefit == b_index
            target_det = self.scale * 1000 * published.required(name, published.DETECTED_KSEK, 2024)
            target_prev = self.scale * 1000 * published.required(name, published.PREVENTED_KSEK, 2024)
            got_prev = prevented_base[mine & in_2024].sum()
            factor, kept = 1.0, np.ones(len(detected), bool)
            for _ in range(4):  # which amounts fall below the threshold depends on the scale, and back
                got_det = detected[mine & in_2024 & kept].sum()
                factor = float(np.clip(target_det / got_det, 0.05, 20.0)) if got_det > 0 else 1.0
                kept = ~(waived_if_small & (detected * factor < RECOVERY_THRESHOLD_SEK))
            detected[mine] *= factor * kept[mine]
            self.truth.monthly_error_sek[self.pop.case_benefit == b_index] *= factor
            # prevented = months of future payments avoided; the horizon is what Tabell 77 implies
            horizon = np.clip(target_prev / (factor * got_prev), 0.5, 300.0) if got_prev > 0 else 6.0
            prevented[mine] = prevented_base[mine] * factor * horizon
        return detected, prevented

    def _police_p(self, benefit: np.ndarray, year: np.ndarray, action: np.ndarray, intentional: np.ndarray,
                  agency: np.ndarray, is_closed: np.ndarray) -> np.ndarray:
        """P(police report | action): intentional errors far more often, and other agencies' notifications by a
        factor solved so that their reports match Tabell 82 while each benefit's share matches Tabell 79."""
        p = np.zeros(len(benefit))
        calendar_year = np.where(year == 0, 2024, year)
        for y in published.YEARS:
            in_year = calendar_year == y
            investigations, reports = published.agency_notifications(y)
            wanted = reports / investigations * (in_year & agency & is_closed).sum()
            counted = in_year & agency & is_closed & action

            def fill(factor: float, y: int = y, in_year: np.ndarray = in_year) -> np.ndarray:
                out = np.zeros(len(benefit))
                for b_index, name in enumerate(BENEFITS):
                    acted = in_year & (benefit == b_index) & action
                    if not acted.any():
                        continue
                    with_action = published.required(name, published.CLOSED, y) * published.required(
                        name, published.SHARE_WITH_ACTION, y) / 100
                    ratio = min(0.97, published.required(name, published.POLICE, y) / with_action)
                    weight = np.where(intentional[acted], 1.0, POLICE_UNINTENTIONAL_FACTOR) * np.where(agency[acted], factor, 1.0)
                    base = ratio * acted.sum() / weight.sum()
                    for _ in range(8):  # where the cap binds, the others carry the rest
                        q = np.clip(base * weight, 0.0, 0.97)
                        if q.sum() <= 0 or abs(q.sum() - ratio * acted.sum()) < 1e-6 * acted.sum():
                            break
                        base *= ratio * acted.sum() / q.sum()
                    out[acted] = np.clip(base * weight, 0.0, 0.97)
                return out

            lo, hi = 0.1, 10.0
            for _ in range(30):  # the agency factor: bisection on the expected number of agency reports
                mid = np.sqrt(lo * hi)
                lo, hi = (mid, hi) if fill(mid)[counted].sum() < wanted else (lo, mid)
            p[in_year] = fill(np.sqrt(lo * hi))[in_year]
        return p
