"""Control investigations: a burn-in from HISTORY_FROM, then 2022-2024 calibrated to Tabell 74-79 and 82.

Per benefit and year the number closed is scale x Tabell 74 (closing dates are kept inside the year; the
burn-in years before 2022 take 2022's figures and are not part of the calibration report). A `random_share`
of them is the random control sample, uniform over cases active on the opened date; a tenth of the rest is
FK-initiated and the others are impulses. Both read only what the agency can see (agency.py): FK-initiated
cases are the top of the agency's rule-based risk profiles over the observable signals; impulses come from
the triage of the notifications that sources sent (notifications.py, drawn before and without any
investigation), which reads each notification's source and content signal. The content signal's
informativeness is solved per benefit and year so that the expected share with action of non-random
investigations equals Tabell 75 given the benefit's detection probability; other agencies' notifications are
triaged first up to their Tabell 82 share. Amounts are rescaled per benefit so that detected and prevented SEK
per closed investigation match Tabell 76 and 77; police reports follow Tabell 79 per benefit and Tabell 82
for agency notifications. An investigation with action records what it established: the start of the
erroneous period (at most DETECTED_MONTHS_CAP months back) and the amount reclaimed over it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskrank.simulation import published
from riskrank.simulation.agency import ObservableEvents, content_signal, fit_informativeness, fk_selection, triage
from riskrank.simulation.calendar import HISTORY_FROM, day, to_datetime, year_of
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
MONTH_DAYS = 30.44
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
    year: np.ndarray        # cohort year (burn-in years before 2022 too); 0 for the late cohort left open at the end


SEL_IMPULSE, SEL_FK, SEL_RANDOM = 0, 1, 2
SELECTION_LABELS = ("impulse", "fk_initiated", "random")


def _exactly_share(rng: np.random.Generator, eligible: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Mark round(share x count) of the eligible rows, chosen at random: detection by construction, not by luck."""
    out = np.zeros(len(eligible), bool)
    rows = np.flatnonzero(eligible)
    if len(rows):
        expected = float(share[rows].mean()) * len(rows)
        k = int(np.floor(expected) + (rng.random() < expected % 1))
        out[rng.permutation(rows)[:k]] = True
    return out


def reference_year(year: int) -> int:
    """The published year whose figures a cohort follows: burn-in years take the first, the late cohort 2024."""
    return 2024 if year == 0 else max(year, published.YEARS[0])


def _cohorts(config: SimConfig) -> list[tuple[int, int, int]]:
    """(cohort year, first and last opened day): windows shifted back by a typical investigation length."""
    shift = int(INVESTIGATION_DAYS)
    end, first = day(config.end), day(HISTORY_FROM)
    years = range(int(year_of(np.array([first]))[0]), published.YEARS[-1] + 1)
    # nothing opens before the history starts: the first burn-in cohort opens in a shorter window
    out = [(y, max(day(f"{y}-01-01") - shift, first), day(f"{y}-12-31") - shift) for y in years]
    out.append((0, end - shift + 1, end))  # opened late 2024, mostly still open at the world's end
    return out


def _round_at_random(rng: np.random.Generator, x: float) -> int:
    """x rounded up with probability equal to its fraction, so counts hold on average."""
    return int(np.floor(x) + (rng.random() < x % 1))


class InvestigationBuilder:
    def __init__(self, rng: np.random.Generator, pop: Population, truth: Truth, observable: ObservableEvents,
                 notifications: Notifications, config: SimConfig, scale: float) -> None:
        self.rng, self.pop, self.truth, self.observable, self.config, self.scale = rng, pop, truth, observable, config, scale
        n_cases = len(pop.case_benefit)
        self.end = day(config.end)
        self.case_end = pop.case_end.copy()                     # shortened when an action stops a case
        self.error_end = np.where(truth.erroneous, np.minimum(pop.case_end, self.end + 1), 0)
        self.latest_opened = np.full(n_cases, np.iinfo(np.int32).min, np.int64)
        self.notes = notifications
        # the agency's own draws, made before and without the truth: when a triaged notification would be
        # opened, the content signal's noise, and the profiles' tie-break and opening day within the month
        self.note_opened = notifications.day + rng.integers(*TRIAGE_DAYS, len(notifications.day))
        self.note_noise = rng.normal(size=len(notifications.day))
        self.priority = rng.random(n_cases)
        self.offset = rng.random(n_cases)
        note_benefit = pop.case_benefit[notifications.case]
        self.notes_of = [np.flatnonzero(note_benefit == b) for b in range(len(BENEFITS))]
        self.sex_weight = np.ones(n_cases)
        for b_index, name in enumerate(BENEFITS):
            mine = np.flatnonzero(pop.case_benefit == b_index)
            self.sex_weight[mine] = self._sex_factor(name, mine)
        self.informativeness: dict[str, dict[str, float]] = {name: {} for name in BENEFITS}

    def _count(self, benefit: str, year: int) -> int:
        closed = published.required(benefit, published.CLOSED, reference_year(year))
        return round(self.scale * closed * (INVESTIGATION_DAYS / 365 if year == 0 else 1.0))

    def _sex_factor(self, benefit: str, cases: np.ndarray) -> np.ndarray:
        """Impulses concern women more or less often than their share of recipients (Tabell 74 vs Tabell 3)."""
        inv = published.required(benefit, published.CLOSED, 2024, "women") / published.required(benefit, published.CLOSED, 2024)
        rec = published.required(benefit, published.RECIPIENTS, 2024, "women") / published.required(
            benefit, published.RECIPIENTS, 2024)
        odds = (inv / (1 - inv)) / (rec / (1 - rec))
        return np.where(self.pop.sex_code[self.pop.case_person[cases]] == 0, odds, 1.0)

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

    def fk_initiated(self, b_index: int, w0: int, w1: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The agency's profiles for one benefit and window: observable inputs only (agency.fk_selection)."""
        cases = np.flatnonzero(self.pop.case_benefit == b_index)
        return fk_selection(self.observable, cases, self.pop.case_start, self.case_end, self.latest_opened,
                            self.priority, self.offset, w0, w1, k)

    def triage_notes(self, b_index: int, w0: int, w1: int) -> np.ndarray:
        """The benefit's notifications that could become an investigation in the window (case still running)."""
        note = self.notes_of[b_index]
        opened = self.note_opened[note]
        case = self.notes.case[note]
        ok = (opened >= w0) & (opened <= w1) & (self.pop.case_start[case] <= opened) & (opened < self.case_end[case])
        return note[ok]

    def triage(self, note: np.ndarray, n_imp: int, year: int, informativeness: float,
               taken: np.ndarray) -> np.ndarray:
        """The notifications (of `note`) the triage turns into impulse investigations at this informativeness."""
        case, opened = self.notes.case[note], self.note_opened[note]
        content = content_signal(informativeness, self._in_error(case, opened), self.note_noise[note])
        share = published.agency_notification_share(reference_year(year))
        agency_share = min(0.9, share / (1 - FK_INITIATED_SHARE) / (1 - self.config.random_share))
        return note[triage(case, self.notes.source[note] == AGENCY, content, np.log(self.sex_weight[case]), n_imp,
                           agency_share, taken)]

    def _draw_cohort(self, b_index: int, year: int, w0: int, w1: int) -> Drawn:
        rng, benefit = self.rng, BENEFITS[b_index]
        cases = np.flatnonzero(self.pop.case_benefit == b_index)
        n = self._count(benefit, year)
        n_random = _round_at_random(rng, n * self.config.random_share)
        n_fk = _round_at_random(rng, (n - n_random) * FK_INITIATED_SHARE)
        n_imp = n - n_random - n_fk
        e_case, e_open = self.fk_initiated(b_index, w0, w1, n_fk)
        taken = np.zeros(len(self.pop.case_benefit), bool)   # one investigation per case and cohort
        taken[e_case] = True
        # the triage's content signal is as informative as it takes for Tabell 75 (the truth is known here,
        # to the world, not to the agency): cases in error wanted among the non-random, less what FK found
        hit = published.required(benefit, published.SHARE_WITH_ACTION, reference_year(year)) / 100.0
        detection = BENEFIT_PARAMS[benefit].detection
        wanted = hit / detection * (len(e_case) + n_imp) - self._in_error(e_case, e_open).sum()
        note = self.triage_notes(b_index, w0, w1)

        def found(a: float) -> int:
            chosen = self.triage(note, n_imp, year, a, taken)
            return int(self._in_error(self.notes.case[chosen], self.note_opened[chosen]).sum())

        a = fit_informativeness(found, wanted)
        self.informativeness[benefit][str(year) if year else "late"] = round(a, 4)
        chosen = self.triage(note, n_imp, year, a, taken)
        m_case, m_open, m_source = self.notes.case[chosen], self.note_opened[chosen], self.notes.source[chosen]
        r_case, r_open = self._draw_random(cases, w0, w1, n_random)
        sel = np.concatenate([np.full(len(m_case), SEL_IMPULSE), np.full(len(e_case), SEL_FK),
                              np.full(len(r_case), SEL_RANDOM)])
        source = np.concatenate([m_source, np.full(len(e_case) + len(r_case), -1)])
        return Drawn(np.concatenate([m_case, e_case, r_case]), np.concatenate([m_open, e_open, r_open]),
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

        # what the investigation establishes: the error from its start, at most DETECTED_MONTHS_CAP months back
        found_until = np.minimum(closed, self.error_end[case])
        found_from = np.maximum(truth.error_start[case], found_until - int(DETECTED_MONTHS_CAP * MONTH_DAYS))
        months = np.clip((found_until - found_from) / MONTH_DAYS, 0, DETECTED_MONTHS_CAP)
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
                "prevented_base": prevented_base, "found_from": found_from}

    def run(self) -> pd.DataFrame:
        """All cohorts in time order, each settled before the next is drawn (a stopped case is not investigated
        later, a corrected error is not found again), then amounts and police."""
        settled = []
        for cohort, w0, w1 in _cohorts(self.config):
            for b in range(len(BENEFITS)):
                if self._count(BENEFITS[b], cohort) > 0:
                    # settled before the next cohort is drawn: what the agency stopped or corrected, it knows
                    drawn = self._draw_cohort(b, cohort, w0, w1)
                    if len(drawn.case):
                        settled.append(self._settle(drawn))
        # the agency's inputs are done with: release them before the world's monthly signals are built
        self.observable, self.note_opened, self.note_noise = None, np.empty(0, np.int64), np.empty(0)  # type: ignore[assignment]
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

        # what an investigation with action established: the erroneous period's start and the amount reclaimed
        # over it (the recovery decision; 0 where recovery was not pursued); null without action or while open
        revealed = action & is_closed
        found_from = np.where(revealed, cols["found_from"], 0)[order]
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
            "error_found_start": pd.Series(to_datetime(found_from)).where(revealed[order]),
            "recovery_sek": pd.Series(np.round(detected, 0)[order]).where(revealed[order]),
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
        cohort_year = np.where(year == 0, 2024, year)
        for cohort in np.unique(cohort_year):
            in_year = cohort_year == cohort
            y = reference_year(int(cohort))
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
