"""Monthly and yearly signals: employer income declarations, benefit days, assistance hours, stated and taxed income.

Built after the investigations so that a case stopped by an action stops reporting. The working-while-on-
benefit patterns show here: employer income in the same months as benefit days, without the drop that an
honest absence brings; misreported bostadsbidrag income shows as application_income below what employers
declare and Skatteverket taxes; inflated assistance shows as hours always at the granted maximum.
"""

from __future__ import annotations

import numpy as np

from riskrank.simulation.calendar import SIGNALS_FROM, day, month_end_day, month_index
from riskrank.simulation.config import SimConfig
from riskrank.simulation.parameters import (
    ABROAD,
    ASSISTANCE_HOURS,
    BENEFIT_PARAMS,
    DRIFT_UBM,
    INCOME_MISREPORT,
    PATTERNS,
    WORKING,
)
from riskrank.simulation.population import Population
from riskrank.simulation.signal_buffer import SignalBuffer
from riskrank.simulation.truth import Truth
from riskrank.world import BENEFITS

EMPLOYED_P = {"bostadsbidrag": 0.55, "foraldrapenning": 0.85, "tillfallig_foraldrapenning": 0.9, "sjukpenning": 0.8,
              "sjukersattning": 0.3, "aktivitetsersattning": 0.35, "aktivitetsstod": 0.35}
INCOME_FACTOR = {"bostadsbidrag": 0.6, "aktivitetsstod": 0.7, "aktivitetsersattning": 0.6}
APPLICATION_INCOME_BENEFITS = ("bostadsbidrag", "foraldrapenning", "sjukpenning")
SEK_PER_ASSISTANCE_HOUR = 320.0
INCOME_STOPS_WHEN_ABROAD = 0.7
CLAIM_SIGMA = 0.7               # spread of how much TFP a family claims (log scale)
TFP_ERROR_CLAIM_FACTOR = 1.6    # an erroneous TFP case claims this much more than it would
DECLARED_WORK_SHARE = 0.65      # errors that need a job: the share whose work an employer declares
HONEST_RAISE_SHARE = 0.12       # honest workers whose income rises in the window (job change, more hours)
HONEST_JOB_LOSS_SHARE = 0.08    # honest workers whose declarations stop (job ended)
HONEST_JOB_START_SHARE = 0.15   # people without a job who start one in the window
STATED_INCOME_SIGMA = 0.2       # honest expected income vs what employers then declare (log scale)
PERSONS_PER_SLICE = 200_000
CASES_PER_SLICE = 300_000


def expand_months(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows with day ranges [lo, hi]: (row index, month index) for every month touched (vectorised)."""
    m0, m1 = month_index(lo), month_index(hi)
    counts = np.where(hi >= lo, m1 - m0 + 1, 0)
    rows = np.repeat(np.arange(len(lo)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return rows, np.repeat(m0, counts) + (np.arange(len(rows)) - starts)


def _benefit_days(rng: np.random.Generator, cases: np.ndarray, pop: Population, lo: np.ndarray, hi: np.ndarray,
                  working: np.ndarray, err_m0: np.ndarray, err_m1: np.ndarray, full_time: np.ndarray,
                  claim: np.ndarray, buffer: SignalBuffer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monthly benefit days for a slice of FP/TFP/sjukpenning cases; returns (person, month, income reduction).

    Working while on the benefit: days are still claimed (TFP: more of them) but the income does not drop.
    """
    r, m = expand_months(lo[cases], hi[cases])
    c = cases[r]
    code = pop.case_benefit[c]
    sick, parental, temporary = (BENEFITS.index(b) for b in ("sjukpenning", "foraldrapenning", "tillfallig_foraldrapenning"))
    in_error = working[c] & (m >= err_m0[c]) & (m <= err_m1[c])
    u = rng.random(len(c))
    # TFP: families differ a lot in how often children are ill; an error claims somewhat more, not always
    need = claim[c] * np.where(in_error, TFP_ERROR_CLAIM_FACTOR, 1.0)
    days_value = np.select(
        [code == sick, code == parental],
        [np.where(full_time[c], 30, 15) - rng.integers(0, 3, len(c)), rng.integers(8, 31, len(c))],
        1 + rng.poisson(1.3 * need),
    ).astype(float)
    used = np.select([code == sick, code == parental], [u < 1.0, u < 0.7], u < np.clip(0.3 * need, 0.0, 0.9))
    c, m, days_value, code, in_error = c[used], m[used], days_value[used], code[used], in_error[used]
    buffer.add("benefit_days", pop.case_person[c] + 1, c + 1, month_end_day(m), days_value)
    # how much the absence lowers the month's employer income: honestly most of it, but sick pay from the
    # employer, holiday pay and late declarations blur it; working while on the benefit lowers it little
    share = np.where(in_error, rng.uniform(0.0, 0.5, len(c)), rng.uniform(0.3, 1.0, len(c)))
    reduction = (share * days_value / np.where(code == temporary, 21.0, 30.0)).astype(np.float32)
    return pop.case_person[c].astype(np.int32), m.astype(np.int16), reduction


def _declare_income(rng: np.random.Generator, workers: np.ndarray, p_lo: np.ndarray, p_hi: np.ndarray, base: np.ndarray,
                    raise_at: np.ndarray, raise_by: np.ndarray, stop_at: np.ndarray, job_from: np.ndarray,
                    days_person: np.ndarray, days_month: np.ndarray, reduction: np.ndarray, end: int, totals: np.ndarray,
                    buffer: SignalBuffer) -> None:
    """Monthly employer declarations for a sorted slice of workers, a year before their first case to 3 months after."""
    last_month = month_index(np.array([end]))[0]
    w_lo = month_end_day(np.clip(month_index(p_lo[workers]) - 12, 0, last_month))
    w_hi = month_end_day(np.clip(month_index(p_hi[workers]) + 3, 0, last_month))
    r, m = expand_months(w_lo, w_hi)
    who = workers[r]
    income = base[who] * rng.uniform(0.93, 1.07, len(who)) * np.where(m >= raise_at[who], raise_by[who], 1.0)
    keys = who * 64 + m
    wanted = days_person.astype(np.int64) * 64 + days_month
    pos = np.searchsorted(keys, wanted)
    ok = pos < len(keys)
    ok[ok] = keys[pos[ok]] == wanted[ok]
    cut = np.zeros(len(keys))
    np.add.at(cut, pos[ok], reduction[ok])
    income *= np.clip(1.0 - cut, 0.0, 1.0)
    keep = (income > 300) & (m < stop_at[who]) & (m >= job_from[who])
    buffer.add("income_declaration", who[keep] + 1, None, month_end_day(m[keep]), np.round(income[keep], 0))
    year_index = np.minimum(m[keep] // 12, 3)
    totals += np.bincount(who[keep] * 4 + year_index, weights=income[keep], minlength=len(totals))


def build_monthly(rng: np.random.Generator, pop: Population, truth: Truth, case_end: np.ndarray, error_end: np.ndarray,
                  config: SimConfig, buffer: SignalBuffer) -> None:
    end = day(config.end)
    lo = np.maximum(pop.case_start, day(SIGNALS_FROM))
    hi = np.minimum(case_end, end)
    n_persons = len(pop.persons)
    pattern = truth.pattern
    working = truth.erroneous & np.isin(pattern, [PATTERNS.index(WORKING), PATTERNS.index(DRIFT_UBM)])
    err_m0 = month_index(truth.error_start)
    err_m1 = month_index(np.maximum(error_end - 1, truth.error_start))

    # --- benefit days (FP, TFP, sjukpenning) ---------------------------------------------------
    day_cases = np.flatnonzero(np.isin(pop.case_benefit, [BENEFITS.index(b) for b in BENEFITS if BENEFIT_PARAMS[b].monthly_days]))
    full_time = rng.random(len(pop.case_benefit)) < 0.7
    claim = np.exp(CLAIM_SIGMA * rng.normal(size=len(pop.case_benefit)) - CLAIM_SIGMA**2 / 2)
    slices = [_benefit_days(rng, part, pop, lo, hi, working, err_m0, err_m1, full_time, claim, buffer)
              for part in np.array_split(day_cases, max(1, len(day_cases) // CASES_PER_SLICE))]
    days_person, days_month, reduction = (np.concatenate([s[k] for s in slices]) for k in range(3))
    del slices

    # --- employer income declarations ---------------------------------------------------------
    # cases running while signals are kept (burn-in cases that ended before SIGNALS_FROM leave no income rows)
    relevant = np.flatnonzero(np.isin(pop.case_benefit, [BENEFITS.index(b) for b in EMPLOYED_P]) & (hi >= lo))
    person = pop.case_person[relevant]
    emp_case_p = np.array([EMPLOYED_P.get(b, 0.5) for b in BENEFITS])[pop.case_benefit[relevant]]
    factor_case = np.array([INCOME_FACTOR.get(b, 1.0) for b in BENEFITS])[pop.case_benefit[relevant]]
    big = np.iinfo(np.int64).max
    p_lo = np.full(n_persons, big)
    p_hi = np.full(n_persons, -1)
    emp_p = np.ones(n_persons)
    inc_factor = np.ones(n_persons)
    np.minimum.at(p_lo, person, lo[relevant])
    np.maximum.at(p_hi, person, hi[relevant])
    np.minimum.at(emp_p, person, emp_case_p)
    np.minimum.at(inc_factor, person, factor_case)
    employed = rng.random(n_persons) < emp_p
    # honest people start jobs too (back to work, a new job beside part-time benefit): income where there was none
    month_count = month_index(np.array([end]))[0] + 1
    job_from = np.zeros(n_persons, np.int64)
    starts = ~employed & (rng.random(n_persons) < HONEST_JOB_START_SHARE)
    job_from[starts] = rng.integers(0, month_count, starts.sum())
    employed |= starts
    base = 30000.0 * inc_factor * np.exp(rng.normal(0, 0.35, n_persons))
    # errors that need a job: such persons work, from the error month if they did not before
    needs_job = truth.erroneous & np.isin(pattern, [PATTERNS.index(p) for p in (WORKING, DRIFT_UBM, INCOME_MISREPORT)])
    # some of them work undeclared (no employer trace at all): errors leave gaps
    needs_job &= rng.random(len(needs_job)) < DECLARED_WORK_SHARE
    starters = pop.case_person[needs_job]
    new_to_work = ~employed[starters]
    job_from[starters[new_to_work]] = big
    np.minimum.at(job_from, starters[new_to_work], err_m0[needs_job][new_to_work])
    employed[starters] = True
    # living abroad: declarations stop from the error month (most of the time)
    stop_at = np.full(n_persons, big)
    # honest jobs end too, and honest incomes rise: neither is proof of living abroad or of a misreport
    quits = rng.random(n_persons) < HONEST_JOB_LOSS_SHARE
    stop_at[quits] = rng.integers(0, month_count, quits.sum())
    abroad_err = truth.erroneous & (pattern == PATTERNS.index(ABROAD)) & (rng.random(len(pattern)) < INCOME_STOPS_WHEN_ABROAD)
    np.minimum.at(stop_at, pop.case_person[abroad_err], err_m0[abroad_err])
    raise_at = np.full(n_persons, big)
    raised = rng.random(n_persons) < HONEST_RAISE_SHARE
    raise_at[raised] = rng.integers(0, month_count, raised.sum())
    misreport_later = truth.erroneous & (pattern == PATTERNS.index(INCOME_MISREPORT)) & (truth.error_start > pop.case_start)
    np.minimum.at(raise_at, pop.case_person[misreport_later], err_m0[misreport_later])
    raise_by = np.where(raised, rng.uniform(1.2, 1.6, n_persons), rng.uniform(1.3, 1.8, n_persons))

    workers = np.flatnonzero(employed & (p_hi >= 0))
    totals = np.zeros(n_persons * 4)  # declared income per person and year 2021-2024
    order = np.argsort(days_person, kind="stable")
    days_person, days_month, reduction = days_person[order], days_month[order], reduction[order]
    # persons in slices: the month rows of a whole large world would not fit in memory at once
    for part in np.array_split(workers, max(1, len(workers) // PERSONS_PER_SLICE)):
        if len(part) == 0:
            continue
        lo_d, hi_d = np.searchsorted(days_person, [part[0], part[-1] + 1])
        _declare_income(rng, part, p_lo, p_hi, base, raise_at, raise_by, stop_at, job_from, days_person[lo_d:hi_d],
                        days_month[lo_d:hi_d], reduction[lo_d:hi_d], end, totals, buffer)

    # taxed income: the previous year's declared total, dated mid-June
    for year in (2022, 2023, 2024):
        dated = day(f"{year}-06-15")
        has = workers[(p_lo[workers] <= dated) & (p_hi[workers] >= dated - 365)]
        buffer.add("taxed_income", has + 1, None, np.full(len(has), dated), np.round(totals[has * 4 + (year - 1 - 2021)], 0))

    # income the case is based on, stated at application
    stating = np.isin(pop.case_benefit, [BENEFITS.index(b) for b in APPLICATION_INCOME_BENEFITS])
    stated_cases = np.flatnonzero(stating & (hi >= lo))
    sp = pop.case_person[stated_cases]
    guess = np.exp(STATED_INCOME_SIGMA * rng.normal(size=len(sp)) - STATED_INCOME_SIGMA**2 / 2)
    stated = 12 * base[sp] * employed[sp] * guess
    under = truth.erroneous[stated_cases] & (pattern[stated_cases] == PATTERNS.index(INCOME_MISREPORT)) & (
        truth.error_start[stated_cases] == pop.case_start[stated_cases])
    look = (truth.trace_pattern[stated_cases] == PATTERNS.index(INCOME_MISREPORT)) & ~truth.erroneous[stated_cases]
    stated = stated * np.where(under, rng.uniform(0.5, 0.85, len(sp)), 1.0) * np.where(look, rng.uniform(0.6, 0.9, len(sp)), 1.0)
    buffer.add("application_income", sp + 1, stated_cases + 1, lo[stated_cases], np.round(np.maximum(stated, 0), 0))

    # --- assistance hours ----------------------------------------------------------------------
    assist = np.flatnonzero(pop.case_benefit == BENEFITS.index("assistansersattning"))
    r, m = expand_months(lo[assist], hi[assist])
    c = assist[r]
    granted = pop.cases["monthly_amount_sek"].to_numpy()[c] / SEK_PER_ASSISTANCE_HOUR
    inflated = truth.erroneous[c] & (pattern[c] == PATTERNS.index(ASSISTANCE_HOURS)) & (m >= err_m0[c]) & (m <= err_m1[c])
    # honest clients use 80-100% of the granted hours, inflated reports 90-106%: they overlap
    hours = granted * np.where(inflated, rng.uniform(0.90, 1.06, len(c)), rng.uniform(0.80, 1.00, len(c)))
    buffer.add("assistance_hours", pop.case_person[c] + 1, c + 1, month_end_day(m), np.round(hours, 1))
