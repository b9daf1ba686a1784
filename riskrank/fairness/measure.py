"""Group fairness of a selection: selection-rate, false-positive-rate and precision ratios with bootstrap intervals.

A selection is the set of cases a ranking sends to investigation (top-k per benefit). Each group of a sensitive
attribute is compared with a reference group (the largest one unless named): ratio = rate(group) / rate(reference).
policy.py holds the band and the groups.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from riskrank.fairness.policy import FAIRNESS_METRICS, GATE_LEVEL, N_BOOT, OVERALL, REPORT_LEVEL, SENSITIVE_REFERENCES, STRATUM

# The bootstrap's unit in an evaluation population: a case, whatever its number of dates. A code per case (not
# the case id, which the logged population does not carry), so that training and `promote` resample alike.
CLUSTER = "case_key"


@dataclass(frozen=True)
class GroupRatio:
    attribute: str
    group: str
    reference: str
    metric: str
    ratio: float
    low: float  # bootstrap percentile interval
    high: float
    gate_low: float  # wider interval at GATE_LEVEL, the one the fairness gate reads
    gate_high: float
    support: int  # the smaller of group's and reference's limiting count (selected cases; false positives for fpr)
    group_rate: float
    reference_rate: float
    scope: str = "overall"  # or "within_benefit": standardised to one mix of benefits (see group_ratios)

    @property
    def key(self) -> str:
        # MLflow metric names allow only [A-Za-z0-9_-. :/]; "65+" becomes "65plus".
        group = re.sub(r"[^0-9A-Za-z_.-]", "_", self.group.replace("+", "plus"))
        suffix = "" if self.scope == OVERALL else f"_{self.scope}"
        return f"fair_{self.attribute}_{group}_{self.metric}_ratio{suffix}"

    def as_dict(self) -> dict:
        return asdict(self) | {"key": self.key}


def sorted_codes(column: pd.Series) -> tuple[list[str], np.ndarray]:
    """What pd.Categorical(column.astype(str)) gives: the values' distinct strings, sorted, and each row's code
    into them. A categorical or bool column (the evaluation population's slots, benefits and sensitive attributes:
    millions of rows at scale) is read through its codes instead of as millions of strings."""
    if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == bool:
        cat = column.astype("category") if column.dtype == bool else column
        codes = cat.cat.codes.to_numpy()
        if not (codes < 0).any():
            names = np.array([str(c) for c in cat.cat.categories], dtype=object)
            present = np.flatnonzero(np.bincount(codes, minlength=len(names)))
            order = present[np.argsort(names[present], kind="stable")]
            new_code = np.full(len(names), -1, dtype=np.int64)
            new_code[order] = np.arange(len(order))
            return [str(n) for n in names[order]], new_code[codes]
    groups = pd.Categorical(column.astype(str))
    return [str(g) for g in groups.categories], groups.codes.astype(np.int64)


def cell_rates(cells: np.ndarray) -> dict[str, np.ndarray]:
    """Rates per group from cell counts shaped (..., groups, selected 0/1, label 0/1); NaN where undefined."""
    n = cells.sum(axis=(-2, -1)).astype(float)
    sel = cells[..., 1, :].sum(axis=-1).astype(float)
    neg = cells[..., :, 0].sum(axis=-1).astype(float)
    fp = cells[..., 1, 0].astype(float)
    tp = cells[..., 1, 1].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "n": n, "selected": sel, "negatives": neg, "false_positives": fp,
            "selection_rate": sel / n, "fpr": fp / neg, "precision": tp / sel,
        }


# The count that limits how precisely each rate is known: selected cases, or false positives for the FPR.
_SUPPORT = {"selection_rate": "selected", "fpr": "false_positives", "precision": "selected"}


def _ratio(a: float, b: float) -> float:
    if not np.isfinite(a) or not np.isfinite(b) or b == 0:
        return float("nan")
    return float(a / b)


def _standardised(cells: np.ndarray, g: int, r: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Rates of group g and reference r standardised to one mix of strata: within each stratum (benefit) the
    group's rate, averaged with the stratum's share of the metric's denominator over all groups (selection rate:
    cases; FPR: negatives; precision: selected). Strata where either group has no denominator are left out of
    both, so the two rates are always compared over the same strata. cells: (..., strata, groups, 2, 2)."""
    rates = cell_rates(cells)
    denominator = {"selection_rate": "n", "fpr": "negatives", "precision": "selected"}[metric]
    weight = rates[denominator].sum(axis=-1)  # (..., strata)
    rg, rr = rates[metric][..., g], rates[metric][..., r]
    usable = np.isfinite(rg) & np.isfinite(rr)
    w = np.where(usable, weight, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = w.sum(axis=-1)
        return (np.where(usable, rg, 0.0) * w).sum(axis=-1) / total, (np.where(usable, rr, 0.0) * w).sum(axis=-1) / total


def cluster_patterns(cells: np.ndarray, clusters: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """The units of a cluster bootstrap: every distinct vector of cell counts a cluster has (shape (P, n_cells))
    and how many clusters have it. `cells` is each row's cell index, `clusters` its cluster (a case, scored on
    several evaluation dates). Clusters with the same counts are interchangeable in a resample, so drawing patterns
    by their multiplicity is drawing clusters, over a few thousand patterns instead of 100,000s of clusters."""
    owner = pd.factorize(clusters)[0].astype(np.int64)
    pairs, count = np.unique(owner * n_cells + cells, return_counts=True)
    owner, cell = pairs // n_cells, pairs % n_cells
    single = np.bincount(owner)[owner] == 1
    # Most clusters sit in one cell on every date: their pattern is (cell, count).
    base = int(count.max()) + 1
    keys, single_sizes = np.unique(cell[single] * base + count[single], return_counts=True)
    single_patterns = np.zeros((len(keys), n_cells))
    single_patterns[np.arange(len(keys)), keys // base] = keys % base
    # The rest (selected on some dates only, an error that starts or ends) are deduplicated as dense rows.
    rows, row = np.unique(owner[~single], return_inverse=True)
    dense = np.zeros((len(rows), n_cells), dtype=np.min_scalar_type(base))
    dense[row, cell[~single]] = count[~single]
    multi_patterns, multi_sizes = np.unique(dense, axis=0, return_counts=True)
    return np.vstack([single_patterns, multi_patterns]), np.concatenate([single_sizes, multi_sizes])


def resample_cells(counts: np.ndarray, n_boot: int, rng: np.random.Generator,
                   clusters: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """`n_boot` bootstrap draws of a table of cell counts, as (n_boot, *counts.shape): the one resampling every
    interval in riskrank rests on. Resampling rows with replacement is drawing the cell counts from a
    multinomial: cheap even for millions of rows. With `clusters` (cluster_patterns of the rows) whole clusters
    are resampled instead: the same case scored on several evaluation dates is one observation, not several, and
    resampling its rows apart would make the intervals too narrow."""
    if clusters is None:
        flat = counts.ravel()
        drawn = rng.multinomial(int(flat.sum()), flat / flat.sum(), size=n_boot)
    else:
        patterns, sizes = clusters
        drawn = rng.multinomial(int(sizes.sum()), sizes / sizes.sum(), size=n_boot) @ patterns
    return drawn.reshape((n_boot, *counts.shape)).astype(float)


def bootstrap_cells(counts: np.ndarray, n_boot: int, rng: np.random.Generator,
                    clusters: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """resample_cells of counts shaped (..., 2 selected, 2 label), then the selected cases of each draw split
    anew into hits and misses by a Jeffreys draw, Beta(hits + 1/2, misses + 1/2): a plain bootstrap keeps an empty
    cell empty, so a group with no hit among its 12 selected cases would keep none in every resample and its
    precision ratio 0 would look certain (0..0), where chance alone gives it 7 % of the time. Only the split of
    the selected cases changes, so selection rates keep the plain bootstrap's interval."""
    cells = resample_cells(counts, n_boot, rng, clusters)
    hits, misses = cells[..., 1, 1], cells[..., 1, 0]
    share = rng.beta(hits + 0.5, misses + 0.5)
    cells[..., 1, 1], cells[..., 1, 0] = share * (hits + misses), (1 - share) * (hits + misses)
    return cells


def percentile_interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    """The central `level` percentile interval of the finite bootstrap samples (NaN, NaN without any)."""
    finite = np.asarray(samples, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return float("nan"), float("nan")
    tail = (1 - level) / 2
    return float(np.quantile(finite, tail)), float(np.quantile(finite, 1 - tail))


def group_ratios(frame: pd.DataFrame, attribute: str, selected: str = "selected", label: str = "label",
                 reference: str | None = None, n_boot: int = N_BOOT, seed: int = 0, level: float = REPORT_LEVEL,
                 gate_level: float = GATE_LEVEL, stratum: str | None = None,
                 cluster: str | None = None) -> list[GroupRatio]:
    """Ratios of every non-reference group of `attribute` to the reference group, with bootstrap intervals.

    With `stratum` (e.g. "benefit") the ratios are within strata: each group's rate is standardised to the same
    mix of strata (see _standardised), so a disparity that only reflects how groups spread over strata with
    different selection intensity does not show; the ratios carry scope "within_<stratum>".
    Rows with a missing attribute are left out. The bootstrap resamples rows with replacement, or with `cluster`
    (a column such as CLUSTER) whole clusters of rows, and keeps each row's selection as it was (the uncertainty is
    in who happened to be in the data, not in the ranking).
    """
    columns = list(dict.fromkeys([attribute, selected, label] + [c for c in (stratum, cluster) if c]))
    data = frame.loc[frame[attribute].notna(), columns]
    if data.empty:
        return []
    names, codes = sorted_codes(data[attribute])
    ref = reference if reference is not None else names[int(np.argmax(np.bincount(codes, minlength=len(names))))]
    if ref not in names:
        raise ValueError(f"reference group {ref!r} not among the values of {attribute}: {names}")
    strata = sorted_codes(data[stratum])[1] if stratum else np.zeros(len(data), np.int64)
    n_strata = int(strata.max()) + 1
    sel = data[selected].to_numpy(dtype=np.int64)
    lab = data[label].to_numpy(dtype=np.int64)
    if not (((sel == 0) | (sel == 1)).all() and ((lab == 0) | (lab == 1)).all()):  # np.isin sorts: slow on millions
        raise ValueError(f"columns {selected!r} and {label!r} must hold 0/1 values")
    # The rates depend on the rows only through the counts of (stratum, group, selected, label) cells.
    shape = (n_strata, len(names), 2, 2)
    flat = ((strata * len(names) + codes) * 2 + sel) * 2 + lab
    counts = np.bincount(flat, minlength=int(np.prod(shape)))
    point_cells = counts.reshape(shape)
    patterns = cluster_patterns(flat, data[cluster].to_numpy(), len(counts)) if cluster else None
    boot_cells = bootstrap_cells(point_cells, n_boot, np.random.default_rng(seed), patterns)
    point, boot = cell_rates(point_cells.sum(axis=0)), cell_rates(boot_cells.sum(axis=1))
    r = names.index(ref)
    scope = f"within_{stratum}" if stratum else OVERALL

    out: list[GroupRatio] = []
    for g, name in enumerate(names):
        if g == r:
            continue
        for metric in FAIRNESS_METRICS:
            if stratum:
                rate_g, rate_r = (float(v) for v in _standardised(point_cells, g, r, metric))
                boot_g, boot_r = _standardised(boot_cells, g, r, metric)
            else:
                rate_g, rate_r = float(point[metric][g]), float(point[metric][r])
                boot_g, boot_r = boot[metric][:, g], boot[metric][:, r]
            ratio = _ratio(rate_g, rate_r)
            with np.errstate(invalid="ignore", divide="ignore"):
                samples = boot_g / boot_r
            low, high = percentile_interval(samples, level)
            gate_low, gate_high = percentile_interval(samples, gate_level)
            limiting = point[_SUPPORT[metric]]
            support = int(min(limiting[g], limiting[r]))
            out.append(GroupRatio(attribute, name, ref, metric, ratio, low, high, gate_low, gate_high, support,
                                  rate_g, rate_r, scope))
    return out


def fairness_report(frame: pd.DataFrame, attributes: Mapping[str, str | None], selected: str = "selected",
                    label: str = "label", n_boot: int = N_BOOT, seed: int = 0,
                    stratum: str | None = None, cluster: str | None = None) -> list[GroupRatio]:
    """`attributes` maps each sensitive column to its reference group (None: the largest group). With `stratum`
    (a column of `frame`), the within-stratum ratios follow the overall ones; with `cluster`, the bootstrap
    resamples its clusters."""
    out: list[GroupRatio] = []
    for attribute, reference in attributes.items():
        if attribute in frame.columns:
            out.extend(group_ratios(frame, attribute, selected, label, reference, n_boot, seed, cluster=cluster))
    if stratum is not None and stratum in frame.columns:
        for attribute, reference in attributes.items():
            if attribute in frame.columns:
                out.extend(group_ratios(frame, attribute, selected, label, reference, n_boot, seed, stratum=stratum,
                                        cluster=cluster))
    return out


def selection_fairness(population: pd.DataFrame, selected: np.ndarray, label: str = "label", n_boot: int = N_BOOT,
                       seed: int = 0) -> list[GroupRatio]:
    """The fairness of a selection from an evaluation population, as the training run and the promotion gate
    measure it: every sensitive attribute present, overall and within benefits, the bootstrap resampling cases
    (a case is scored on every evaluation date it is active)."""
    refs = {a: r for a, r in SENSITIVE_REFERENCES.items() if a in population.columns}
    frame = population.assign(selected=np.asarray(selected).astype(int))
    cluster = CLUSTER if CLUSTER in frame.columns else None
    return fairness_report(frame, refs, "selected", label, n_boot=n_boot, seed=seed, stratum=STRATUM, cluster=cluster)
