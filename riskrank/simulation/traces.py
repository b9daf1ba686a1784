"""Event signals that do not depend on investigations: everyday life (innocent) and error traces.

Every error pattern leaves partial traces (each with a probability, never all of them), dated soon after
the error starts; innocent look-alikes leave the same traces more weakly, and everyone has a background
of moves, returned mail, permits and reported changes whose rates rise with born_abroad and sex by
`proxy_strength`. Returns each case's trace strength, which drives which cases get impulses.
"""

from __future__ import annotations

import numpy as np

from riskrank.simulation.calendar import SIGNALS_FROM, day
from riskrank.simulation.config import SimConfig
from riskrank.simulation.parameters import (
    ABROAD,
    ACCOUNT_NETWORK,
    ASSISTANCE_HOURS,
    CARE_CHANGE,
    COHABITATION,
    DRIFT_UBM,
    INCOME_MISREPORT,
    PATTERNS,
    STUDY_BREAK,
    WORKING,
)
from riskrank.simulation.population import Population
from riskrank.simulation.signal_buffer import SignalBuffer
from riskrank.simulation.truth import Truth
from riskrank.world import BENEFITS

# Patterns whose main trace is monthly (income, days, hours), built later in monthly.py.
MONTHLY_TRACE_PATTERNS = (WORKING, DRIFT_UBM, INCOME_MISREPORT, ASSISTANCE_HOURS)
RING_SIZE = 8            # cases sharing one bank account in an organised ring
SHADY_PROVIDER_SHARE = 0.1
CLIENTS_PER_PROVIDER = 15
PERMIT_LATE_SHARE = 0.15   # innocent permit holders who renew 15-150 days after the expiry
PERMIT_LAPSE_SHARE = 0.08  # innocent permit holders with no renewal registered at all


class Ids:
    """Opaque id spaces for addresses, accounts and providers (stored in signals.value)."""

    def __init__(self, households: int) -> None:
        self.next_address = households + 1  # a household's home address id is its household_id

    def new_addresses(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_address, self.next_address + n, dtype=np.float64)
        self.next_address += n
        return ids


def _poisson_events(rng: np.random.Generator, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                    rate_per_year: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Poisson events per row over [lo, hi]: (row index per event, day per event)."""
    span = np.maximum(hi - lo, 0)
    counts = rng.poisson(np.asarray(rate_per_year) * span / 365.0)
    index = np.repeat(rows, counts)
    days = np.repeat(lo, counts) + (rng.random(len(index)) * np.repeat(span, counts)).astype(np.int64)
    return index, days


def _soon_after(rng: np.random.Generator, start: np.ndarray, hi: np.ndarray, mean_days: float = 60.0) -> np.ndarray:
    return np.minimum(start + rng.exponential(mean_days, len(start)).astype(np.int64), hi)


def build_traces(rng: np.random.Generator, pop: Population, truth: Truth, config: SimConfig,
                 buffer: SignalBuffer) -> np.ndarray:
    """Adds event signals to `buffer`; returns per-case trace strength (count of pattern traces emitted)."""
    n = len(pop.case_benefit)
    rows = np.arange(n)
    person_idx = pop.case_person
    person_id = person_idx + 1
    case_id = rows + 1
    lo = np.maximum(pop.case_start, day(SIGNALS_FROM))
    hi = np.minimum(pop.case_end, day(config.end))
    ps = config.proxy_strength
    abroad = pop.born_abroad[person_idx]
    female = pop.sex_code[person_idx] == 0
    male = pop.sex_code[person_idx] == 1
    households = int(pop.persons["household_id"].max())
    ids = Ids(households)
    home = pop.persons["household_id"].to_numpy()

    # --- everyday life, innocent ----------------------------------------------------------------
    i, d = _poisson_events(rng, rows, lo, hi, 0.08 * 1.6 ** (ps * abroad))
    buffer.add("address_change", person_id[i], None, d, ids.new_addresses(len(i)))
    i, d = _poisson_events(rng, rows, lo, hi, 0.04 * 1.4 ** (ps * female))
    buffer.add("household_change", person_id[i], None, d, rng.integers(1, 3, len(i)).astype(float))
    i, d = _poisson_events(rng, rows, lo, hi, 0.015 * 2.5 ** (ps * abroad) * 1.3 ** (ps * male))
    buffer.add("mail_returned", person_id[i], None, d)
    i, d = _poisson_events(rng, rows, lo, hi, 0.006 * 2.0 ** (ps * abroad))
    buffer.add("foreign_activity", person_id[i], None, d)
    noncitizen = pop.noncitizen[person_idx]
    i, d = _poisson_events(rng, rows[noncitizen], lo[noncitizen], hi[noncitizen], 0.4)
    buffer.add("permit_expiry", person_id[i], None, d)
    # most renew in time; some late, and some innocent people let a permit lapse (they got citizenship, or
    # another kind of permit, or simply renew very late), so an unrenewed expiry is no proof of living abroad
    timing = rng.random(len(i))
    renewed_on = np.where(timing < PERMIT_LATE_SHARE, d + rng.integers(15, 150, len(i)), d - rng.integers(0, 45, len(i)))
    renews = timing >= PERMIT_LAPSE_SHARE + PERMIT_LATE_SHARE
    renews |= timing < PERMIT_LATE_SHARE
    buffer.add("permit_renewed", person_id[i[renews]], None, renewed_on[renews])
    i, d = _poisson_events(rng, rows, lo, hi, 0.12)
    buffer.add("reported_change", person_id[i], case_id[i], d)
    barnbidrag = pop.case_benefit == BENEFITS.index("barnbidrag")
    i, d = _poisson_events(rng, rows[barnbidrag], lo[barnbidrag], hi[barnbidrag], 0.03)
    buffer.add("study_break", person_id[i], None, d)
    buffer.add("reported_change", person_id[i], case_id[i], d + rng.integers(0, 30, len(i)))

    # bank account per case (shared within a household; a few guardians handle many unrelated clients)
    running = hi >= lo
    account = home[person_idx].astype(np.float64)
    guardian = running & (rng.random(n) < 0.003 * 1.5 ** (ps * abroad))
    account[guardian] = 10_000_000 + rng.integers(0, max(1, guardian.sum() // 10), guardian.sum())

    # assistance providers: a few shady ones; look-alike clients also land with them
    assist = rows[(pop.case_benefit == BENEFITS.index("assistansersattning")) & running]
    n_providers = max(3, len(assist) // CLIENTS_PER_PROVIDER)
    n_shady = max(1, round(SHADY_PROVIDER_SHARE * n_providers))
    provider = rng.integers(n_shady, n_providers, n)

    # --- error and look-alike traces ----------------------------------------------------------
    strength = np.zeros(n)
    tp = truth.trace_pattern
    has = tp >= 0
    weight = truth.trace_strength

    def pattern_rows(name: str, p: float) -> np.ndarray:
        chosen = rows[has & (tp == PATTERNS.index(name)) & running]
        return chosen[rng.random(len(chosen)) < p * weight[chosen]]

    def emit(kind: str, chosen: np.ndarray, value: np.ndarray | float = 1.0, person_level: bool = True,
             mean_days: float = 60.0) -> None:
        days = _soon_after(rng, np.maximum(truth.trace_start[chosen], lo[chosen]), hi[chosen], mean_days)
        buffer.add(kind, person_id[chosen], None if person_level else case_id[chosen], days, value)
        np.add.at(strength, chosen, 1.0)

    emit("mail_returned", pattern_rows(ABROAD, 0.55))
    emit("foreign_activity", pattern_rows(ABROAD, 0.4))
    moved = pattern_rows(ABROAD, 0.3)
    emit("address_change", moved, ids.new_addresses(len(moved)))
    emit("emigration", pattern_rows(ABROAD, 0.04))
    expired = pattern_rows(ABROAD, 0.7)
    emit("permit_expiry", expired[noncitizen[expired]])

    # a sham separation shows what a real one shows: one adult left registered at the address, a registered
    # move out to an address of one's own, now and then a letter that does not reach them there
    emit("household_change", pattern_rows(COHABITATION, 0.5), 1.0)
    moved_out = pattern_rows(COHABITATION, 0.45)
    emit("address_change", moved_out, ids.new_addresses(len(moved_out)))
    emit("mail_returned", pattern_rows(COHABITATION, 0.2))

    rings = pattern_rows(ACCOUNT_NETWORK, 0.8)
    account[rings] = 20_000_000 + rng.integers(0, max(1, len(rings) // RING_SIZE), len(rings))
    np.add.at(strength, rings, 1.0)
    shared_home = pattern_rows(ACCOUNT_NETWORK, 0.3)
    emit("address_change", shared_home, 30_000_000 + rng.integers(0, max(1, len(shared_home) // 4), len(shared_home)))

    emit("study_break", pattern_rows(STUDY_BREAK, 0.8))
    emit("household_change", pattern_rows(CARE_CHANGE, 0.35), 1.0)
    emit("study_break", pattern_rows(CARE_CHANGE, 0.25))

    shady = pattern_rows(ASSISTANCE_HOURS, 0.75)
    provider[shady] = rng.integers(0, n_shady, len(shady))
    np.add.at(strength, shady, 1.0)
    look_shady = assist[rng.random(len(assist)) < 0.05]
    provider[look_shady] = rng.integers(0, n_shady, len(look_shady))

    monthly = has & np.isin(tp, [PATTERNS.index(p) for p in MONTHLY_TRACE_PATTERNS])
    strength[monthly] += 1.5 * weight[monthly]

    # registrations dated when the case (or the signal history) starts
    reg = rows[running]
    buffer.add("bank_account_registered", person_id[reg], case_id[reg], lo[reg], account[reg])
    buffer.add("provider_registered", person_id[assist], case_id[assist], lo[assist], provider[assist].astype(np.float64))
    # IVO reports: a share of shady providers is reported; every client case carries the report
    reported = rng.random(n_providers) < 0.5
    reported[n_shady:] = rng.random(n_providers - n_shady) < 0.02
    report_day = day(SIGNALS_FROM) + rng.integers(0, day(config.end) - day(SIGNALS_FROM), n_providers)
    flagged = assist[reported[provider[assist]]]
    buffer.add("provider_report", person_id[flagged], case_id[flagged], report_day[provider[flagged]],
               provider[flagged].astype(np.float64))
    return strength
