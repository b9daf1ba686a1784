"""Persons (households, sex, birth year, county, born abroad) and their benefit cases.

Cases per benefit follow a stock-and-flow model: a stock running on the first day of the window plus a
steady inflow, sized so that recipients during a year match scale x Tabell 3. Recipients are drawn from
person pools (parents, single parents, other adults, young adults) so benefits overlap as in life.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskrank.simulation import published
from riskrank.simulation.calendar import day
from riskrank.simulation.parameters import ADULT, BENEFIT_PARAMS, PARENT, SINGLE_PARENT, YOUNG
from riskrank.world import BENEFITS

# Swedish county codes (län) with populations in thousands, for drawing where people live.
COUNTIES = {
    "01": 2450, "03": 400, "04": 300, "05": 470, "06": 370, "07": 205, "08": 246, "09": 61, "10": 159, "12": 1420,
    "13": 340, "14": 1750, "17": 283, "18": 306, "19": 280, "20": 288, "21": 288, "22": 245, "23": 132, "24": 275,
    "25": 250,
}
PROTECTED_SHARE = 0.003      # protected identity: sex not shown
BORN_ABROAD_SHARE = 0.21
COUPLE_SHARE = 0.72          # families with two adults
NONCITIZEN_SHARE = 0.35      # of those born abroad: hold a temporary residence permit


@dataclass
class Population:
    persons: pd.DataFrame
    cases: pd.DataFrame
    # numpy views used by later stages (position = row in persons / cases)
    sex_code: np.ndarray        # 0 F, 1 M, 2 unknown
    born_abroad: np.ndarray
    noncitizen: np.ndarray
    case_person: np.ndarray     # row index into persons
    case_benefit: np.ndarray    # index into BENEFITS
    case_start: np.ndarray      # day numbers
    case_end: np.ndarray        # day numbers; END + 1 sentinel-free: open cases get a day after the world end
    case_open: np.ndarray       # bool: still running at the world's end


def _case_counts(scale: float, start: int, end: int) -> dict[str, tuple[int, int]]:
    """(stock on the first day, inflow over the window) per benefit so that yearly recipients ~ scale x Tabell 3."""
    window = end - start + 1
    counts = {}
    for benefit in BENEFITS:
        mean_days = BENEFIT_PARAMS[benefit].mean_days
        recipients = scale * published.required(benefit, published.RECIPIENTS, 2024)
        stock = recipients / (1.0 + 365.0 / mean_days)
        counts[benefit] = (max(1, round(stock)), max(1, round(stock * window / mean_days)))
    return counts


def _pick(rng: np.random.Generator, members: np.ndarray, is_female: np.ndarray, n: int, female_share: float) -> np.ndarray:
    """n persons from `members` (with replacement) so that about `female_share` of them are women."""
    women, others = members[is_female], members[~is_female]
    n_women = rng.binomial(n, female_share) if len(women) and len(others) else (n if len(women) else 0)
    chosen = np.concatenate([_draw(rng, women, n_women), _draw(rng, others, n - n_women)])
    return rng.permutation(chosen)


def _draw(rng: np.random.Generator, group: np.ndarray, k: int) -> np.ndarray:
    """k members, each at most once while the group lasts (so a benefit's recipients are distinct persons)."""
    if k == 0 or len(group) == 0:
        return np.empty(0, np.int64)
    rounds = [rng.permutation(group) for _ in range(-(-k // len(group)))]
    return np.concatenate(rounds)[:k]


def build_population(rng: np.random.Generator, scale: float, start: str, end: str,
                     history_from: str | None = None) -> Population:
    start_day, end_day = day(start), day(end)
    counts = _case_counts(scale, start_day, end_day)
    n_cases = {b: s + f for b, (s, f) in counts.items()}

    # Families: one per barnbidrag case (the family's barnbidrag over time), couples or single parents.
    n_fam = n_cases["barnbidrag"]
    couple = rng.random(n_fam) < COUPLE_SHARE
    fam_adults = np.where(couple, 2, 1)
    fam_person_household = np.repeat(np.arange(n_fam), fam_adults)
    first = np.concatenate([[0], np.cumsum(fam_adults)[:-1]])
    n_parents = int(fam_adults.sum())
    parent_sex = np.ones(n_parents, np.int8)  # M
    parent_sex[first] = 0                      # first adult of a family is a woman in couples
    single_first = first[~couple]
    parent_sex[single_first] = np.where(rng.random(len(single_first)) < 0.82, 0, 1)
    single_parent = np.zeros(n_parents, bool)
    single_parent[single_first] = True

    # Other adults (sickness, disability, labour-market, assistance): singles and couples.
    n_other_cases = sum(n_cases[b] for b in ("sjukpenning", "sjukersattning", "aktivitetsersattning", "aktivitetsstod",
                                             "assistansersattning")) + 0.35 * n_cases["bostadsbidrag"]
    n_other = max(4, int(0.7 * n_other_cases))
    pair = np.arange(n_other) // 2
    paired = (rng.random(n_other // 2 + 1) < 0.5)[pair]
    other_household = n_fam + np.where(paired, pair, n_other + np.arange(n_other))
    other_sex = np.where(rng.random(n_other) < 0.52, 0, 1).astype(np.int8)
    young = rng.random(n_other) < 0.3

    n_persons = n_parents + n_other
    sex_code = np.concatenate([parent_sex, other_sex])
    sex_code[rng.random(n_persons) < PROTECTED_SHARE] = 2
    household = np.concatenate([fam_person_household, other_household]).astype(np.int64)
    _, household = np.unique(household, return_inverse=True)
    born_abroad = rng.random(n_persons) < BORN_ABROAD_SHARE
    noncitizen = born_abroad & (rng.random(n_persons) < NONCITIZEN_SHARE)
    birth_year = np.concatenate([
        np.clip(rng.normal(1987, 7, n_parents), 1962, 2002),
        np.where(young, rng.uniform(1995, 2005.99, n_other), rng.uniform(1958, 1995, n_other)),
    ]).astype(np.int64)
    county_codes = np.array(list(COUNTIES))
    weights = np.array(list(COUNTIES.values()), float)
    household_county = rng.choice(len(county_codes), int(household.max()) + 1, p=weights / weights.sum())
    county = county_codes[household_county[household]]

    pools = {
        PARENT: np.arange(n_parents),
        SINGLE_PARENT: np.flatnonzero(single_parent),
        ADULT: n_parents + np.flatnonzero(~young),
        YOUNG: n_parents + np.flatnonzero(young),
    }
    is_female = sex_code == 0

    person_parts, benefit_parts, start_parts, end_parts = [], [], [], []
    for index, benefit in enumerate(BENEFITS):
        params = BENEFIT_PARAMS[benefit]
        stock, inflow = counts[benefit]
        n = stock + inflow
        female_share = published.required(benefit, published.RECIPIENTS, 2024, "women") / published.required(
            benefit, published.RECIPIENTS, 2024)
        if benefit == "barnbidrag":
            # one case per family, paid to the mother in most couples
            mother = first
            father = np.where(couple, first + 1, first)
            couple_female = np.clip((female_share - (1 - COUPLE_SHARE) * 0.82) / COUPLE_SHARE, 0.0, 1.0)
            persons_b = np.where(rng.random(n_fam) < couple_female, mother, father)
        else:
            parts = []
            pool_draw = rng.choice(len(params.pools), n, p=[s for _, s in params.pools])
            for k, (pool, _) in enumerate(params.pools):
                m = int((pool_draw == k).sum())
                if m:
                    parts.append(_pick(rng, pools[pool], is_female[pools[pool]], m, female_share))
            persons_b = rng.permutation(np.concatenate(parts))
        age = rng.exponential(params.mean_days, stock)
        starts = np.concatenate([start_day - 1 - age.astype(np.int64),
                                 start_day + rng.integers(0, end_day - start_day + 1, inflow)])
        durations = rng.exponential(params.mean_days, n).astype(np.int64) + 14
        ends = np.concatenate([start_day + durations[:stock], starts[stock:] + durations[stock:]])
        person_parts.append(persons_b)
        benefit_parts.append(np.full(n, index, np.int8))
        start_parts.append(starts)
        end_parts.append(ends)

    # the burn-in: cases that ran and ended between the history's start and the window's, from the same
    # stock-and-flow (a stock at history_from plus the inflow since), on the same persons
    history = day(history_from) if history_from else start_day
    for index, benefit in enumerate(BENEFITS):
        if history >= start_day:
            break
        params = BENEFIT_PARAMS[benefit]
        stock, _ = counts[benefit]
        inflow = round(stock * (start_day - history) / params.mean_days)
        starts = np.concatenate([history - 1 - rng.exponential(params.mean_days, stock).astype(np.int64),
                                 history + rng.integers(0, start_day - history, inflow)])
        # the stock's remaining time runs from history_from (lengths are memoryless), the inflow's from its start
        ran_from = np.concatenate([np.full(stock, history), starts[stock:]])
        ends = ran_from + rng.exponential(params.mean_days, stock + inflow).astype(np.int64) + 14
        ended = ends < start_day
        female_share = published.required(benefit, published.RECIPIENTS, 2024, "women") / published.required(
            benefit, published.RECIPIENTS, 2024)
        m = int(ended.sum())
        if benefit == "barnbidrag":
            family = rng.integers(0, n_fam, m)
            persons_b = np.where(couple[family] & (rng.random(m) >= 0.5), first[family] + 1, first[family])
        else:
            pool_draw = rng.choice(len(params.pools), m, p=[w for _, w in params.pools])
            persons_b = np.empty(m, np.int64)
            for k, (pool, _) in enumerate(params.pools):
                rows = np.flatnonzero(pool_draw == k)
                if len(rows):
                    persons_b[rows] = _pick(rng, pools[pool], is_female[pools[pool]], len(rows), female_share)
        person_parts.append(persons_b)
        benefit_parts.append(np.full(m, index, np.int8))
        start_parts.append(starts[ended])
        end_parts.append(ends[ended])

    case_person = np.concatenate(person_parts).astype(np.int64)
    case_benefit = np.concatenate(benefit_parts)
    case_start = np.maximum(np.concatenate(start_parts), day("1995-01-01"))
    case_end = np.concatenate(end_parts)
    # aktivitetsersättning is for ages 19-29: make its recipients young whatever pool they came from
    akt = case_person[case_benefit == BENEFITS.index("aktivitetsersattning")]
    birth_year[akt] = rng.integers(1996, 2005, len(akt))
    case_open = case_end > end_day
    amount = _monthly_amounts(rng, case_benefit)

    persons = pd.DataFrame({
        "person_id": np.arange(1, n_persons + 1, dtype=np.int64),
        "sex": pd.array(np.array(["F", "M", None], dtype=object)[sex_code], dtype="string"),
        "birth_year": birth_year,
        "county": pd.array(county, dtype="string"),
        "born_abroad": born_abroad,
        "household_id": household.astype(np.int64) + 1,
    })
    cases = pd.DataFrame({
        "case_id": np.arange(1, len(case_person) + 1, dtype=np.int64),
        "person_id": case_person + 1,
        "benefit": pd.Categorical.from_codes(case_benefit, categories=list(BENEFITS)),
        "start_date": case_start,   # converted to datetimes when the world is assembled
        "end_date": case_end,
        "monthly_amount_sek": amount,
    })
    return Population(persons, cases, sex_code, born_abroad, noncitizen, case_person, case_benefit, case_start,
                      case_end, case_open)


def _monthly_amounts(rng: np.random.Generator, case_benefit: np.ndarray) -> np.ndarray:
    medians = np.array([BENEFIT_PARAMS[b].monthly_sek for b in BENEFITS])[case_benefit]
    sigmas = np.array([BENEFIT_PARAMS[b].amount_sigma for b in BENEFITS])[case_benefit]
    return np.round(medians * np.exp(rng.normal(0.0, 1.0, len(case_benefit)) * sigmas), 0)
