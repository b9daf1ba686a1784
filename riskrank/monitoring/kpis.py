"""Manager indicators over an outcomes-like frame: pure functions, no I/O.

The frame has one row per closed investigation with columns `benefit, sex, selection, opened_date,
closed_date, action, detected_sek, prevented_sek, police_report` (optionally `case_id`, `score`).
Conventions follow the agency's published tables (Tabell 74-79 of the 2024 annual report): an
investigation counts in the month and year it closed; sex-split rows show women (F) and men (M), and
the total row includes unknown sex, so the split need not add up; cells about fewer than four persons
are suppressed (value null, `suppressed` true, shown as "*"). Hit rates carry a 95 % percentile bootstrap
interval (`hit_rate_low`, `hit_rate_high`), drawn with fairness.measure's resampling as every interval in riskrank.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from riskrank.fairness.measure import bootstrap_cells, group_ratios, percentile_interval, resample_cells
from riskrank.fairness.policy import FAIRNESS_METRICS, N_BOOT, SENSITIVE_REFERENCES

BY_VALUES: tuple[str, ...] = ("benefit", "month", "year", "selection", "sex")
TOTAL = "total"
SEXES: tuple[str, ...] = ("F", "M")
MIN_PERSONS = 4
OUTCOME_COLUMNS: tuple[str, ...] = (
    "benefit", "sex", "selection", "opened_date", "closed_date", "action", "detected_sek", "prevented_sek", "police_report",
)
# The other groups the fairness gate judges (besides sex), recorded with outcomes for measurement only; optional in
# a frame (unknown where absent: outcomes recorded before they were).
GROUP_COLUMNS: tuple[str, ...] = tuple(c for c in SENSITIVE_REFERENCES if c not in OUTCOME_COLUMNS)
MEASURES: tuple[str, ...] = (
    "closed", "with_action", "hit_rate", "hit_rate_low", "hit_rate_high",
    "detected_sek", "prevented_sek", "detected_per_sek_cost", "police_reports",
)


def normalise_outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce the outcome columns to the dtypes the indicators expect (dates, bools, floats, strings)."""
    missing = [c for c in OUTCOME_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"outcomes frame lacks column(s) {', '.join(missing)}")
    out = frame.copy()
    for column in ("opened_date", "closed_date"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[ns]")
    for column in ("benefit", "sex", "selection"):
        out[column] = out[column].astype("string")
    for column in GROUP_COLUMNS:
        values = out[column] if column in out.columns else pd.Series(pd.NA, index=out.index, dtype=object)
        # born_abroad as the text the policy names its reference by ("False"); unknown stays missing.
        out[column] = values.astype(object).where(values.notna()).map(
            lambda v: v if not isinstance(v, bool | np.bool_) else str(bool(v)), na_action="ignore").astype("string")
    out["action"] = out["action"].astype("boolean").fillna(False).astype(bool)
    out["police_report"] = out["police_report"].astype("boolean").fillna(False).astype(bool)
    for column in ("detected_sek", "prevented_sek"):
        out[column] = pd.to_numeric(out[column]).astype(float).fillna(0.0)
    return out


def _with_period_keys(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["month"] = out["closed_date"].dt.strftime("%Y-%m").astype("string")
    out["year"] = out["closed_date"].dt.year.astype("Int64").astype("string")
    return out


def _aggregate(source: pd.DataFrame, keys: list[str], cost_per_investigation: float) -> pd.DataFrame:
    """The measures per group of `keys` (one row for the whole frame when `keys` is empty), vectorised."""
    named = {
        "closed": ("action", "size"), "with_action": ("action", "sum"), "detected_sek": ("detected_sek", "sum"),
        "prevented_sek": ("prevented_sek", "sum"), "police_reports": ("police_report", "sum"),
    }
    # Persons are counted as distinct cases (a case is one person's claim), the one count both sources
    # have: the outcomes table holds no person id, and a world and its imported outcomes must agree.
    if "case_id" in source.columns:
        named["persons"] = ("case_id", "nunique")
    if keys:
        out = source.groupby(keys, sort=True, dropna=False, observed=True).agg(**named).reset_index()
    else:
        out = source.assign(_all=0).groupby("_all").agg(**named).reset_index(drop=True)
        if source.empty:
            out = pd.DataFrame([{name: 0 for name in named}])
    out = out.astype({name: float for name in named})
    persons = out.pop("persons") if "persons" in out.columns else out["closed"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["hit_rate"] = out["with_action"] / out["closed"].where(out["closed"] > 0)
    bounds = [proportion_interval(int(k), int(n)) for k, n in zip(out["with_action"], out["closed"], strict=True)]
    out["hit_rate_low"] = [low for low, _ in bounds]
    out["hit_rate_high"] = [high for _, high in bounds]
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = out["closed"] * cost_per_investigation
        out["detected_per_sek_cost"] = out["detected_sek"] / cost.where(cost > 0)
    out["suppressed"] = (persons < MIN_PERSONS).to_numpy()
    out.loc[out["suppressed"], list(MEASURES)] = np.nan
    for key in keys:
        out[key] = out[key].astype(object).where(out[key].notna(), "unknown").astype(str)
    return out


@lru_cache(maxsize=65_536)  # an interval depends on (k, n) alone, and a cube of cells repeats small ones often
def proportion_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """A percentile bootstrap interval for the share k/n (the n investigations resampled with replacement).
    NaN where it says nothing: no investigations, or none or all with action (every resample then gives the
    same share, and a 0..0 interval would look like certainty)."""
    if n == 0 or k in (0, n):
        return float("nan"), float("nan")
    rng = np.random.default_rng(0)  # seeded per cell: a cell's interval does not depend on the rest of the table
    shares = resample_cells(np.array([k, n - k]), N_BOOT, rng)[:, 0] / n
    return percentile_interval(shares, confidence)


def validate_by(by: Sequence[str]) -> list[str]:
    """The grouping dimensions, checked; raises ValueError naming the unknown ones."""
    by = [b.strip() for b in by if b and b.strip()]
    unknown = [b for b in by if b not in BY_VALUES]
    if unknown:
        raise ValueError(f"unknown breakdown {', '.join(map(repr, unknown))}; choose from {', '.join(BY_VALUES)}")
    if len(set(by)) != len(by):
        raise ValueError("each breakdown may be named once")
    return by


def hit_rate_table(frame: pd.DataFrame, by: Sequence[str] = (), cost_per_investigation: float | None = None) -> pd.DataFrame:
    """Closed investigations, share with action, detected and prevented SEK, detected SEK per SEK of control cost
    and police reports per combination of `by` (benefit, month, year, selection, sex), with totals.

    Totals form a cube: every key can also be `total` (e.g. all benefits for women in 2024). Sex rows show
    F and M; the sex `total` includes unknown sex, so F + M need not add up to it, as in the published tables.
    Rows sort with `total` last for every key and sex as F, M, total.
    """
    if cost_per_investigation is None:
        from riskrank.settings import get_settings

        cost_per_investigation = get_settings().cost_per_investigation_sek
    by = validate_by(by)
    work = _with_period_keys(normalise_outcomes(frame))
    known_sex = work[work["sex"].isin(SEXES)]
    parts = []
    for kept in _subsets(by):
        part = _aggregate(known_sex if "sex" in kept else work, kept, cost_per_investigation)
        parts.append(part.assign(**{k: TOTAL for k in by if k not in kept}))
    table = pd.concat(parts, ignore_index=True)[[*by, *MEASURES, "suppressed"]]
    if by and not table.empty:
        sex_order = {"F": "0", "M": "1", TOTAL: "2"}
        sort_keys = [f"_{k}" for k in by]
        for key in by:
            labels = table[key].map(sex_order) if key == "sex" else table[key]
            table[f"_{key}"] = (table[key] == TOTAL).map({True: "1", False: "0"}) + labels.astype(str)
        table = table.sort_values(sort_keys, kind="stable").drop(columns=sort_keys)
    for key in by:
        table[key] = table[key].astype("string")
    table["suppressed"] = table["suppressed"].astype(bool)
    return table.reset_index(drop=True)


def _subsets(keys: list[str]) -> list[list[str]]:
    """Every subset of `keys` (in their order), the full set first."""
    from itertools import combinations

    return [list(c) for size in range(len(keys), -1, -1) for c in combinations(keys, size)]


def filter_period(frame: pd.DataFrame, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Investigations closed within [start, end] (either bound optional)."""
    closed = pd.to_datetime(frame["closed_date"])
    keep = pd.Series(True, index=frame.index)
    if start is not None:
        keep &= closed >= pd.Timestamp(start)
    if end is not None:
        keep &= closed <= pd.Timestamp(end)
    return frame.loc[keep]


def ratio_of_proportions(a: int, n1: int, c: int, n2: int, confidence: float = 0.95) -> dict[str, float | None]:
    """(a/n1) / (c/n2) with a percentile bootstrap interval, the two samples resampled independently
    (fairness.measure's resampling, as every interval in riskrank); no interval when a is 0."""
    if n1 == 0 or n2 == 0 or c == 0:
        return {"ratio": None, "low": None, "high": None}
    ratio = (a / n1) / (c / n2)
    if a == 0:
        return {"ratio": ratio, "low": None, "high": None}
    rng = np.random.default_rng(0)
    first = resample_cells(np.array([a, n1 - a]), N_BOOT, rng)[:, 0] / n1
    second = resample_cells(np.array([c, n2 - c]), N_BOOT, rng)[:, 0] / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = percentile_interval(first / second, confidence)
    return {"ratio": ratio, "low": low, "high": high}


def lift(frame: pd.DataFrame, confidence: float = 0.95) -> dict[str, float | int | None]:
    """Model-selected hit rate over the random sample's, with a bootstrap interval for the ratio.

    The random sample is the unbiased yardstick: its hit rate is what investigating cases at random
    would find, so lift 1 means the model does no better than chance.
    """
    work = normalise_outcomes(frame)
    model = work[work["selection"] == "model"]
    random = work[work["selection"] == "random"]
    a, n1 = int(model["action"].sum()), len(model)
    c, n2 = int(random["action"].sum()), len(random)
    result = ratio_of_proportions(a, n1, c, n2, confidence)
    return {
        "model_closed": n1,
        "model_with_action": a,
        "model_hit_rate": a / n1 if n1 else None,
        "random_closed": n2,
        "random_with_action": c,
        "random_hit_rate": c / n2 if n2 else None,
        "lift": result["ratio"],
        "low": result["low"],
        "high": result["high"],
        "confidence": confidence,
    }


def fairness_by_sex(frame: pd.DataFrame, reference: str | None = None, confidence: float = 0.95) -> list[dict]:
    """Fairness of the model's selections by sex, from outcomes alone.

    - parity: a sex's share among model-selected investigations over its share in the random sample
      (the random sample stands for the population), bootstrap interval; 1 means selected in proportion.
    - precision: the model's hit rate for that sex over the reference sex's (default: the sex with most
      random-sample investigations): the gate's precision ratio (fairness.measure.group_ratios) and interval.
    Unknown sex is left out; groups about fewer than four persons are suppressed.
    """
    work = normalise_outcomes(frame)
    model = work[(work["selection"] == "model") & work["sex"].isin(SEXES)]
    random = work[(work["selection"] == "random") & work["sex"].isin(SEXES)]
    if model.empty or random.empty:
        return []
    if reference is None:
        counts = random["sex"].value_counts()
        reference = str(counts.index[0])
    precision_ratios = {}
    if (model["sex"] == reference).any():
        ratios = group_ratios(model.assign(selected=1), "sex", "selected", "action", reference, level=confidence)
        precision_ratios = {r.group: r for r in ratios if r.metric == "precision"}
    rows = []
    for sex in SEXES:
        m = model[model["sex"] == sex]
        r = random[random["sex"] == sex]
        suppressed = len(m) < MIN_PERSONS or len(r) < MIN_PERSONS
        parity = ratio_of_proportions(len(m), len(model), len(r), len(random), confidence)
        found = precision_ratios.get(sex)
        precision = ({"ratio": 1.0, "low": None, "high": None} if sex == reference else
                     {"ratio": _finite(found.ratio), "low": _finite(found.low), "high": _finite(found.high)} if found else
                     {"ratio": None, "low": None, "high": None})
        row = {
            "sex": sex,
            "reference": sex == reference,
            "suppressed": suppressed,
            "n_model": None if suppressed else len(m),
            "n_random": None if suppressed else len(r),
        }
        for name, values in (("parity", parity), ("precision_ratio", precision)):
            for key, suffix in (("ratio", ""), ("low", "_low"), ("high", "_high")):
                row[name + suffix] = None if suppressed else values[key]
        rows.append(row)
    return rows


# What each ratio rests on, per group, in the (random 0 / model 1, no action 0 / action 1) cells of its
# investigations: the counts that must each be about four persons or more for the ratio to be shown.
_RESTS_ON: dict[str, tuple[tuple[int, int | None], ...]] = {
    "selection_rate": ((1, None), (0, None)),  # model-selected; random sample
    "fpr": ((1, 0), (0, 0)),  # model-selected without action; random sample without action
    "precision": ((1, None),),  # model-selected
}


def _group_rates(cells: np.ndarray) -> dict[str, np.ndarray]:
    """Per group, from cells shaped (..., groups, random/model, no action/action): the model's selections per
    random-sample investigation (the random sample is a uniform draw of the population, so its ratio between groups
    is the ratio of selection rates), its selections without action per random-sample investigation without action
    (the ratio of false-positive rates), and its hit rate (precision)."""
    model, random = cells[..., 1, :], cells[..., 0, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"selection_rate": model.sum(-1) / random.sum(-1), "fpr": model[..., 0] / random[..., 0],
                "precision": model[..., 1] / model.sum(-1)}


def fairness_by_group(frame: pd.DataFrame, confidence: float = 0.95, n_boot: int = N_BOOT, seed: int = 0) -> list[dict]:
    """Every group the fairness gate judges (sex, born abroad, age band; policy.SENSITIVE_REFERENCES), each against
    its reference, on closed model-selected and random-sample investigations: selection-rate, false-positive-rate
    and precision ratios (the gate's three, as _group_rates estimates them from outcomes) with percentile bootstrap
    intervals (fairness.measure.bootstrap_cells: the investigations resampled, the model's hits drawn as the gate's
    are). A ratio resting on a count of fewer than four persons, for the group or its reference, is suppressed (its
    numbers null, `suppressed` true). Unknown groups are left out. One row per non-reference group and metric."""
    work = normalise_outcomes(frame)
    work = work[work["selection"].isin(("model", "random"))]
    rows: list[dict] = []
    for attribute, reference in SENSITIVE_REFERENCES.items():
        known = work[work[attribute].notna()]
        if not (known["selection"] == "model").any() or not (known["selection"] == "random").any():
            continue
        if reference is None:  # the largest group of the random sample, which stands for the population
            reference = str(known.loc[known["selection"] == "random", attribute].value_counts().idxmax())
        names = sorted(known[attribute].unique().tolist())
        if reference not in names:
            continue
        group = pd.Categorical(known[attribute], categories=names).codes
        is_model = (known["selection"] == "model").to_numpy(int)
        action = known["action"].to_numpy(int)
        cells = np.zeros((len(names), 2, 2))
        np.add.at(cells, (group, is_model, action), 1)
        persons = _persons(known.assign(_g=group, _m=is_model, _a=action))
        draws = bootstrap_cells(cells, n_boot, np.random.default_rng(seed))
        point, boot = _group_rates(cells), _group_rates(draws)
        r = names.index(reference)
        for g, name in enumerate(names):
            if g == r:
                continue
            for metric in FAIRNESS_METRICS:
                counts = {f"n_{'model' if m else 'random'}": persons(g, m, a) for m, a in _RESTS_ON[metric]}
                suppressed = any(c < MIN_PERSONS for c in counts.values()) or any(
                    persons(r, m, a) < MIN_PERSONS for m, a in _RESTS_ON[metric])
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = point[metric][g] / point[metric][r]
                    low, high = percentile_interval(boot[metric][:, g] / boot[metric][:, r], confidence)
                rows.append({
                    "attribute": attribute, "group": str(name), "reference": reference, "metric": metric,
                    "suppressed": suppressed, "n_model": None if suppressed else counts.get("n_model"),
                    "n_random": None if suppressed else counts.get("n_random"),
                    "ratio": None if suppressed else _finite(float(ratio)),
                    "low": None if suppressed else _finite(low), "high": None if suppressed else _finite(high),
                })
    return rows


def _persons(frame: pd.DataFrame):
    """persons(group, model, action or None): the distinct cases (persons, as _aggregate counts them) in those cells."""
    key = frame["case_id"] if "case_id" in frame.columns else pd.Series(np.arange(len(frame)), index=frame.index)
    by_cell = frame.assign(_key=key).groupby(["_g", "_m", "_a"])["_key"].nunique()
    by_side = frame.assign(_key=key).groupby(["_g", "_m"])["_key"].nunique()

    def persons(group: int, model: int, action: int | None) -> int:
        found = by_side.get((group, model)) if action is None else by_cell.get((group, model, action))
        return int(found) if found is not None else 0

    return persons


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _month_ends(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    return pd.date_range(start.to_period("M").to_timestamp(), end, freq="ME")


def operational_indicators(frame: pd.DataFrame, by_benefit: bool = False, until: pd.Timestamp | None = None) -> pd.DataFrame:
    """Monthly operational indicators for control cases, as in the agency's result indicators (doc 003):
    inflow (opened in the month), closed (closed in the month), open balance at month end, age in days of
    the open cases at month end (mean, median, p10, p90) and handling time in days of the cases closed in
    the month (mean, median). `closed_date` may be null for cases still open. Statistics over fewer than
    four cases are suppressed (null)."""
    work = frame.copy()
    work["opened_date"] = pd.to_datetime(work["opened_date"]).astype("datetime64[ns]")
    work["closed_date"] = pd.to_datetime(work["closed_date"]).astype("datetime64[ns]")
    columns = ["month", *(["benefit"] if by_benefit else []), "inflow", "closed", "open_at_month_end",
               "age_mean_days", "age_median_days", "age_p10_days", "age_p90_days", "handling_mean_days", "handling_median_days"]
    if work.empty:
        return pd.DataFrame(columns=columns)
    last = pd.Timestamp(until) if until is not None else max(work["opened_date"].max(), work["closed_date"].max())
    groups = [(b, g) for b, g in work.groupby("benefit", sort=True)] if by_benefit else [(None, work)]
    rows = []
    for benefit, group in groups:
        opened = group["opened_date"].to_numpy()
        closed = group["closed_date"].to_numpy()
        for month_end in _month_ends(work["opened_date"].min(), last + pd.offsets.MonthEnd(0)):
            month_start = month_end.to_period("M").to_timestamp()
            end = np.datetime64(month_end)
            in_month_closed = (closed >= np.datetime64(month_start)) & (closed <= end)
            is_open = (opened <= end) & (np.isnat(closed) | (closed > end))
            ages = ((end - opened[is_open]) / np.timedelta64(1, "D")).astype(float)
            handling = ((closed[in_month_closed] - opened[in_month_closed]) / np.timedelta64(1, "D")).astype(float)
            row = {
                "month": month_end.strftime("%Y-%m"),
                "inflow": int(((opened >= np.datetime64(month_start)) & (opened <= end)).sum()),
                "closed": int(in_month_closed.sum()),
                "open_at_month_end": int(is_open.sum()),
                **_spread(ages, "age"),
                "handling_mean_days": float(handling.mean()) if len(handling) >= MIN_PERSONS else None,
                "handling_median_days": float(np.median(handling)) if len(handling) >= MIN_PERSONS else None,
            }
            if by_benefit:
                row["benefit"] = benefit
            rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _spread(values: np.ndarray, prefix: str) -> dict[str, float | None]:
    if len(values) < MIN_PERSONS:
        return {f"{prefix}_{stat}_days": None for stat in ("mean", "median", "p10", "p90")}
    return {
        f"{prefix}_mean_days": float(values.mean()),
        f"{prefix}_median_days": float(np.median(values)),
        f"{prefix}_p10_days": float(np.percentile(values, 10)),
        f"{prefix}_p90_days": float(np.percentile(values, 90)),
    }


def records(table: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: NaN becomes None, numpy scalars become Python numbers."""
    out = []
    for row in table.to_dict(orient="records"):
        clean: dict[str, object] = {}
        for key, value in row.items():
            if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
                clean[key] = None
            elif isinstance(value, np.generic):
                clean[key] = value.item()
            else:
                clean[key] = value
        out.append(clean)
    return out
