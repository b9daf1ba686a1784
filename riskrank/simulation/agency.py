"""How the world's agency decides whom to investigate, from what it can see.

Two channels choose cases (the random control sample, the third, is uniform: investigations.py):
- FK-initiated: the agency's own risk profiles, transparent rules over the observable event signals and
  notifications (`RULES`): a rule score per case over the last year, and the top cases within capacity.
  `fk_selection` takes only observable inputs; it never sees the truth.
- Impulse: triage of the notifications that came in. Each notification carries its source and a content
  signal (what the letter or tip says) = informativeness x (the case is in error on the day) + N(0, 1)
  noise; the triage takes the highest content first, other agencies' notifications up to their Tabell 82
  share. The truth reaches the triage only through the content signal; the informativeness per benefit and
  year is solved by bisection (`fit_informativeness`) so that the share with action matches Tabell 75.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from riskrank.simulation.signal_buffer import SignalBuffer

# Rule weights per event in the year before the review (transparent, per signal kind). A permit renewal
# cancels an expiry; a notification about the case counts like a returned letter.
RULES: dict[str, float] = {
    "mail_returned": 1.0, "foreign_activity": 1.5, "emigration": 3.0, "permit_expiry": 1.0, "permit_renewed": -1.0,
    "address_change": 0.5, "household_change": 0.5, "study_break": 1.0, "provider_report": 2.0, "notification": 1.0,
}
SHARED_ACCOUNT_WEIGHT = 2.0   # standing rule: the payment account is registered for 3+ households
SHARED_ACCOUNT_HOUSEHOLDS = 3
LOOKBACK_DAYS = 365
RECENTLY_INVESTIGATED_DAYS = 365  # the profiles skip cases investigated in the last year
MAX_INFORMATIVENESS = 12.0
BISECTION_STEPS = 30
_SPAN = 1 << 16                # days of one case's key range (the world spans far fewer days)


@dataclass(frozen=True)
class ObservableEvents:
    """Weighted observable events per case row, sorted by (case, day), ready for windowed sums."""

    keys: np.ndarray        # case * _SPAN + (day - origin)
    cum: np.ndarray         # cumulative weight, with a leading 0
    origin: int
    flag_day: np.ndarray    # per case: first day a standing rule holds (int64 max: never)
    has_events: np.ndarray  # per case: any event at all (the others score 0 on every day)

    @classmethod
    def build(cls, n_cases: int, case: np.ndarray, day: np.ndarray, weight: np.ndarray,
              flag_day: np.ndarray | None = None) -> ObservableEvents:
        origin = int(day.min()) if len(day) else 0
        keys = case.astype(np.int64) * _SPAN + (day.astype(np.int64) - origin)
        order = np.argsort(keys, kind="stable")
        flags = np.full(n_cases, np.iinfo(np.int64).max) if flag_day is None else flag_day
        has = np.zeros(n_cases, bool)
        has[case] = True
        return cls(keys[order], np.concatenate([[0.0], np.cumsum(weight[order])]), origin, flags, has)

    def score(self, case: np.ndarray, as_of: int) -> np.ndarray:
        """Rule score of each case on `as_of`: weights of events in (as_of - LOOKBACK_DAYS, as_of], plus standing rules."""
        out = SHARED_ACCOUNT_WEIGHT * (self.flag_day[case] <= as_of)
        some = np.flatnonzero(self.has_events[case])
        base = case[some].astype(np.int64) * _SPAN
        hi = np.searchsorted(self.keys, base + max(as_of - self.origin, -1), side="right")
        lo = np.searchsorted(self.keys, base + max(as_of - LOOKBACK_DAYS - self.origin, -1), side="right")
        out[some] += self.cum[hi] - self.cum[lo]
        return out


class CasesOfPerson:
    """Each person row's case rows, to count a person-level event on every case of the person."""

    def __init__(self, case_person: np.ndarray, n_persons: int) -> None:
        self.order = np.argsort(case_person, kind="stable")
        self.counts = np.bincount(case_person, minlength=n_persons)
        self.first = np.concatenate([[0], np.cumsum(self.counts)[:-1]])

    def expand(self, person: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For events of `person` (rows): (event position, case row) for every case of the event's person."""
        n = self.counts[person]
        event = np.repeat(np.arange(len(person)), n)
        within = np.arange(len(event)) - np.repeat(np.cumsum(n) - n, n)
        return event, self.order[self.first[person][event] + within]


def shared_account_flags(n_cases: int, case: np.ndarray, day: np.ndarray, account: np.ndarray,
                         household: np.ndarray) -> np.ndarray:
    """Day from which each case's registered account is shared by SHARED_ACCOUNT_HOUSEHOLDS or more households."""
    out = np.full(n_cases, np.iinfo(np.int64).max)
    if len(case) == 0:
        return out
    pairs = np.unique(np.stack([account, household]), axis=1)
    ids, n_households = np.unique(pairs[0], return_counts=True)
    shared = np.isin(account, ids[n_households >= SHARED_ACCOUNT_HOUSEHOLDS])
    np.minimum.at(out, case[shared], day[shared])
    return out


def fk_selection(events: ObservableEvents, candidates: np.ndarray, start: np.ndarray, end: np.ndarray,
                 last_opened: np.ndarray, priority: np.ndarray, offset: np.ndarray, w0: int, w1: int,
                 k: int) -> tuple[np.ndarray, np.ndarray]:
    """The agency's profiles over one window: each month, the top-scoring cases active that day, within capacity.

    Only observable inputs: the events, the cases' start and end (end as the agency knows it, after its own
    stops), when each case was last investigated, and a fixed tie-break `priority` and opening `offset` per case
    (fractions in [0, 1)). Returns (case rows, opened days); a case is taken once per window.
    """
    months = max(1, round((w1 - w0 + 1) / 30.44))
    bounds = np.linspace(w0, w1 + 1, months + 1).astype(np.int64)
    quota = np.diff(np.round(np.linspace(0, k, months + 1)).astype(np.int64))
    taken = np.zeros(len(start), bool)
    got_case, got_day = [], []
    for m in range(months):
        s, e = int(bounds[m]), int(bounds[m + 1])
        if quota[m] <= 0 or e <= s:
            continue
        c = candidates[(start[candidates] <= s) & (end[candidates] > s) & ~taken[candidates]
                       & (last_opened[candidates] < s - RECENTLY_INVESTIGATED_DAYS)]
        if len(c) == 0:
            continue
        score = events.score(c, s - 1) + 0.01 * priority[c]   # reviewed at the month's start; ties by priority
        q = min(int(quota[m]), len(c))
        best = np.argpartition(-score, q - 1)[:q]
        top = c[best[np.argsort(-score[best], kind="stable")]]
        taken[top] = True
        got_case.append(top)
        got_day.append(np.minimum(s + (offset[top] * (e - s)).astype(np.int64), end[top] - 1))
    if not got_case:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(got_case), np.concatenate(got_day)


def content_signal(informativeness: float, in_error: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """What a notification says: informativeness x in error + N(0, 1) noise (drawn once, before the truth)."""
    return informativeness * in_error + noise


def _top_distinct(case: np.ndarray, score: np.ndarray, pool: np.ndarray, k: int, taken: np.ndarray) -> np.ndarray:
    """Positions of the k best-scoring notifications in `pool`, one per case, skipping `taken` cases (updated)."""
    rows = np.flatnonzero(pool & ~taken[case])
    if k <= 0 or len(rows) == 0:
        return np.empty(0, np.int64)
    rows = rows[np.argsort(-score[rows], kind="stable")]
    rows = rows[np.sort(np.unique(case[rows], return_index=True)[1])][:k]
    taken[case[rows]] = True
    return rows


def triage(case: np.ndarray, agency: np.ndarray, content: np.ndarray, log_weight: np.ndarray, k: int,
           agency_share: float, taken: np.ndarray) -> np.ndarray:
    """The notifications (positions) that become impulse investigations: highest content first, other agencies'
    notifications first up to `agency_share` of the k, one per case not in `taken` (a case mask, left as it is)."""
    taken = taken.copy()
    score = content + log_weight
    k_agency = round(k * agency_share)
    first = _top_distinct(case, score, agency, k_agency, taken)
    rest = _top_distinct(case, score, ~agency, k - len(first), taken)
    more = _top_distinct(case, score, np.ones(len(case), bool), k - len(first) - len(rest), taken)
    return np.concatenate([first, rest, more])


def fit_informativeness(hits: Callable[[float], int], wanted: float) -> float:
    """The smallest informativeness in [0, MAX_INFORMATIVENESS] whose triage finds `wanted` cases in error
    (bisection; deterministic: the noise is fixed). 0 when chance alone finds enough."""
    if hits(0.0) >= wanted:
        return 0.0
    lo, hi = 0.0, MAX_INFORMATIVENESS
    if hits(hi) < wanted:
        return hi
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if hits(mid) < wanted else (lo, mid)
    return hi


def observable_events(case_person: np.ndarray, household: np.ndarray, buffer: SignalBuffer, note_case: np.ndarray,
                      note_day: np.ndarray) -> ObservableEvents:
    """The profiles' inputs from what the agency holds: the event signals in `buffer` of the RULES' kinds (a
    person's events count on each of their cases), notifications about each case, and shared payment accounts.
    `household` is each person row's household id."""
    n_cases = len(case_person)
    of_person = CasesOfPerson(case_person, len(household))
    cases, days = [note_case.astype(np.int64)], [note_day.astype(np.int64)]
    weights = [np.full(len(note_case), RULES["notification"])]
    for kind, weight in RULES.items():
        if kind == "notification":
            continue
        person, case, when, _ = buffer.rows(kind)
        on_case = case >= 0
        cases.append(case[on_case] - 1)
        days.append(when[on_case])
        event, rows = of_person.expand(person[~on_case] - 1)
        cases.append(rows)
        days.append(when[~on_case][event])
        weights += [np.full(int(on_case.sum()), weight), np.full(len(rows), weight)]
    person, case, when, account = buffer.rows("bank_account_registered")
    flags = shared_account_flags(n_cases, case - 1, when, account, household[person - 1])
    return ObservableEvents.build(n_cases, np.concatenate(cases), np.concatenate(days), np.concatenate(weights), flags)
