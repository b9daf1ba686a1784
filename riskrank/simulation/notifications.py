"""Notifications (underrättelser, tips, referrals): what other agencies, municipalities, schools, the public,
UBM and benefit handlers send about a case, drawn before and independently of any investigation.

A case draws notifications at a rate that depends on its true state: while an error runs (after a delay:
someone has to notice), at a rate that also depends on how visible the error is (its traces, and luck);
innocent look-alikes draw them in proportion to their trace strength; every case draws a few at random.
Rates per benefit are set from the published investigation volumes so that there are several times more
notifications than impulse investigations: the agency triages them (investigations.py) and most are never
investigated. UBM only reports sjukpenning cases working too much, from 2024 and at its published volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskrank.simulation import published
from riskrank.simulation.calendar import HISTORY_FROM, day
from riskrank.simulation.config import SimConfig
from riskrank.simulation.parameters import BENEFIT_PARAMS, DRIFT_UBM, PATTERNS, WORKING
from riskrank.simulation.population import Population
from riskrank.simulation.signal_buffer import SignalBuffer
from riskrank.simulation.truth import Truth
from riskrank.world import BENEFITS, IMPULSE_SOURCES, SIGNAL_SOURCES

FK_INITIATED_SHARE = 0.10      # of non-random investigations; the rest are impulses
# Notifications per impulse investigation the agency opens on them: about erroneous cases and innocent ones.
# Most notifications are never investigated; innocent ones outnumber the erroneous ones in most benefits.
ERROR_NOTIFICATIONS_PER_IMPULSE = 3.0
INNOCENT_NOTIFICATIONS_PER_IMPULSE = 10.0
LOOKALIKE_SHARE_OF_INNOCENT = 0.5   # the rest falls on any case at random
BORN_ABROAD_SUSPICION = 1.8        # innocent people born abroad draw random notifications this much more often
NOTICE_DELAY_DAYS = 60.0            # mean time before anyone notices an error (exponential)
VISIBILITY_SIGMA = 1.0              # spread of how visible an error is to outsiders (log scale)
# Who sends them (before the agency quota of triage): other agencies, municipalities, Skatteverket, the public,
# benefit handlers; schools only about children (barnbidrag, omvårdnadsbidrag: about half its detected amount).
SOURCE_WEIGHTS = {"agency": 0.35, "municipality": 0.15, "skatteverket": 0.12, "public": 0.18, "handler": 0.20}
SCHOOL_WEIGHT = {"barnbidrag": 0.05, "omvardnadsbidrag": 3.0}
# UBM (Utbetalningsmyndigheten) from 2024-01-01: about 150 notifications in 2024 at full scale (facts.md),
# all about sjukpenning recipients working too much; most are right, some are not.
UBM_START = "2024-01-01"
UBM_PER_YEAR = 150.0
UBM_PRECISION = 0.7


@dataclass
class Notifications:
    case: np.ndarray     # row index of the case
    day: np.ndarray      # day number
    source: np.ndarray   # index into IMPULSE_SOURCES


def impulses_per_year(benefit: str, scale: float, random_share: float) -> tuple[float, float]:
    """(impulse investigations on erroneous cases, on innocent ones) per year, from the 2024 figures."""
    closed = scale * published.required(benefit, published.CLOSED, 2024) * (1 - random_share) * (1 - FK_INITIATED_SHARE)
    aimed = min(1.0, published.required(benefit, published.SHARE_WITH_ACTION, 2024) / 100 / BENEFIT_PARAMS[benefit].detection)
    return closed * aimed, closed * (1 - aimed)


def _poisson(rng: np.random.Generator, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray,
             rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    span = np.maximum(hi - lo, 0)
    counts = rng.poisson(rate * span / 365.0)
    index = np.repeat(rows, counts)
    days = np.repeat(lo, counts) + (rng.random(len(index)) * np.repeat(span, counts)).astype(np.int64)
    return index, days


def _sources(rng: np.random.Generator, benefit: np.ndarray) -> np.ndarray:
    labels = [*SOURCE_WEIGHTS, "school"]
    table = np.array([[*SOURCE_WEIGHTS.values(), SCHOOL_WEIGHT.get(b, 0.0)] for b in BENEFITS])
    cum = np.cumsum(table[benefit], axis=1)
    pick = (rng.random((len(benefit), 1)) * cum[:, -1:] > cum).sum(axis=1)
    return np.array([IMPULSE_SOURCES.index(s) for s in labels])[pick]


def build_notifications(rng: np.random.Generator, pop: Population, truth: Truth, strength: np.ndarray,
                        config: SimConfig, scale: float, buffer: SignalBuffer) -> Notifications:
    n = len(pop.case_benefit)
    rows = np.arange(n)
    first, end = day(HISTORY_FROM), day(config.end)  # notifications through the burn-in too
    lo = np.maximum(pop.case_start, first)
    hi = np.minimum(pop.case_end, end + 1)
    benefit = pop.case_benefit.astype(np.int64)
    err = truth.erroneous
    # the error as it would run untouched (investigations do not exist yet): from start to the case's end
    err_lo = np.maximum(truth.error_start, first)
    err_hi = np.where(err, hi, err_lo)
    years = (end + 1 - first) / 365.0
    visibility = np.exp(VISIBILITY_SIGMA * rng.normal(size=n) - VISIBILITY_SIGMA**2 / 2) * (0.3 + strength)

    # tips about innocent people fall more often on people born abroad (by proxy_strength): a source of bias
    suspicion = BORN_ABROAD_SUSPICION ** (config.proxy_strength * pop.born_abroad[pop.case_person])
    err_rate, inn_rate, look_rate = np.zeros(n), np.zeros(n), np.zeros(n)
    look = ~err & (truth.trace_pattern >= 0)
    for b, name in enumerate(BENEFITS):
        mine = benefit == b
        on_err, on_innocent = impulses_per_year(name, scale, config.random_share)
        # rates per case-year so that the expected yearly count is the wanted multiple of the impulses
        err_exposure = (visibility * np.maximum(err_hi - err_lo, 0))[mine & err].sum() / 365.0 / years
        if err_exposure > 0:
            err_rate[mine] = ERROR_NOTIFICATIONS_PER_IMPULSE * on_err / err_exposure * visibility[mine]
        wanted = INNOCENT_NOTIFICATIONS_PER_IMPULSE * on_innocent
        case_years = (suspicion * np.maximum(hi - lo, 0))[mine].sum() / 365.0 / years
        if case_years > 0:
            inn_rate[mine] = (1 - LOOKALIKE_SHARE_OF_INNOCENT) * wanted / case_years * suspicion[mine]
        look_exposure = (strength * np.maximum(hi - truth.trace_start, 0))[mine & look].sum() / 365.0 / years
        if look_exposure > 0:
            look_rate[mine & look] = LOOKALIKE_SHARE_OF_INNOCENT * wanted / look_exposure * strength[mine & look]

    noticed = err_lo + rng.exponential(NOTICE_DELAY_DAYS, n).astype(np.int64)
    parts = [_poisson(rng, rows[err], noticed[err], err_hi[err], err_rate[err]),
             _poisson(rng, rows, lo, hi, inn_rate),
             _poisson(rng, rows[look], np.maximum(truth.trace_start[look], lo[look]), hi[look], look_rate[look])]
    case = np.concatenate([p[0] for p in parts])
    when = np.concatenate([p[1] for p in parts])
    source = _sources(rng, benefit[case])
    ubm_case, ubm_day = _ubm(rng, pop, truth, config, scale, lo, hi)
    case, when = np.concatenate([case, ubm_case]), np.concatenate([when, ubm_day])
    source = np.concatenate([source, np.full(len(ubm_case), IMPULSE_SOURCES.index("ubm"))])
    keep = when <= end
    out = Notifications(case[keep], when[keep], source[keep])
    to_signal = np.array([SIGNAL_SOURCES.index(s) for s in IMPULSE_SOURCES])
    buffer.add("notification", pop.case_person[out.case] + 1, out.case + 1, out.day, source=to_signal[out.source])
    return out


def _ubm(rng: np.random.Generator, pop: Population, truth: Truth, config: SimConfig, scale: float, lo: np.ndarray,
         hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UBM notifications: sjukpenning cases working too much (mostly erroneous, some not), 2024 only."""
    start = day(UBM_START)
    sick = pop.case_benefit == BENEFITS.index("sjukpenning")
    working = truth.erroneous & np.isin(truth.pattern, [PATTERNS.index(WORKING), PATTERNS.index(DRIFT_UBM)])
    rows = np.arange(len(sick))
    parts = []
    for chosen, c_lo, share in ((rows[sick & working], np.maximum(truth.error_start, start), UBM_PRECISION),
                                (rows[sick & ~truth.erroneous], np.full(len(sick), start), 1 - UBM_PRECISION)):
        c_lo, c_hi = np.maximum(c_lo[chosen], lo[chosen]), hi[chosen]
        exposure = np.maximum(c_hi - c_lo, 0).sum() / 365.0
        rate = share * UBM_PER_YEAR * scale / exposure if exposure > 0 else 0.0
        parts.append(_poisson(rng, chosen, c_lo, c_hi, np.full(len(chosen), rate)))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
