"""The frontier of group-aware thresholds: per-group selection shares that keep every ratio within a band.

A yardstick, not a product method: it treats groups differently (each cell of sex x born abroad gets its own
threshold, i.e. its own share of the cell selected), which riskrank never does. Given one ranking, the highest
hit rate at a fixed total selection whose selection-rate, FPR and precision ratios (women vs men, born abroad vs
not) all lie within [1/b, b] bounds what any group-blind ranking with those scores can reach at band b
(Corbett-Davies et al. 2017; Cruz and Hardt 2024). The search is a grid over the share multipliers of all cells
but the largest, which takes what remains of the total; the ratios come from fairness.measure.cell_rates, the one
implementation of the rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# The two-group attributes the band names, each as (group, reference).
PAIRS: dict[str, tuple[str, str]] = {"sex": ("F", "M"), "born_abroad": ("True", "False")}
# Multipliers of the overall share tried per cell: 0.2x to 5x, geometric (steps of about 5 %).
MULTIPLIERS = np.geomspace(0.2, 5.0, 67)
BANDS: tuple[float, ...] = (1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.4, 1.5, 1.75, 2.0, float("inf"))


def cell_keys(frame: pd.DataFrame) -> pd.Series:
    """The cell of each row: "sex|born_abroad" as strings (a missing sex is its own cell, in no sex ratio)."""
    return frame["sex"].astype("string").fillna("?") + "|" + frame["born_abroad"].astype("string").fillna("?")


@dataclass(frozen=True)
class Choice:
    band: float
    shares: dict[str, float]  # cell -> share of the cell selected
    hits: int
    selected: int
    worst: float  # the worst ratio as max(r, 1/r) in the table the shares were chosen on


def frontier(frame: pd.DataFrame, scores: np.ndarray, label: str, share: float, bands: Sequence[float] = BANDS,
             multipliers: np.ndarray = MULTIPLIERS, fairest: bool = False) -> list[Choice]:
    """For each band, the per-cell shares with the most hits among those selecting round(share x rows) in all
    and with every ratio of PAIRS within [1/band, band]; bands no combination meets are left out. With
    `fairest`, the combination with the smallest worst ratio follows (its band: that ratio)."""
    from riskrank.fairness.measure import cell_rates

    keys = cell_keys(frame).to_numpy()
    y = frame[label].to_numpy(dtype=np.int64)
    scores = np.asarray(scores, dtype=float)
    cells = sorted(set(keys))
    total = int(round(share * len(frame)))
    n, positives, cum_hits = {}, {}, {}
    for c in cells:
        mine = keys == c
        ranked = y[mine][np.argsort(-scores[mine], kind="stable")]
        n[c], positives[c] = int(mine.sum()), int(ranked.sum())
        cum_hits[c] = np.concatenate([[0], np.cumsum(ranked)])
    judged = [c for c in cells if _in_pairs(c)]
    # cells without a sex keep the overall share: they count in the born-abroad ratios only
    fixed = [c for c in cells if c not in judged]
    last = max(judged, key=lambda c: n[c])
    free = [c for c in judged if c != last]
    # candidate counts per free cell, then every combination of them
    options = [np.unique(np.clip(np.round(multipliers * share * n[c]), 0, n[c]).astype(np.int64)) for c in free]
    grid = np.meshgrid(*options, indexing="ij") if options else []
    k = {c: g.ravel() for c, g in zip(free, grid, strict=True)}
    size = len(next(iter(k.values()))) if k else 1
    for c in fixed:
        k[c] = np.full(size, min(n[c], int(round(share * n[c]))), dtype=np.int64)
    k[last] = total - sum(k.values()) if k else np.full(1, total)
    k[last] = np.broadcast_to(k[last], (size,)).copy()
    feasible = (k[last] >= 0) & (k[last] <= n[last])
    k = {c: v[feasible] for c, v in k.items()}
    hits = {c: cum_hits[c][k[c]] for c in cells}
    worst = np.zeros(int(feasible.sum()))
    for attribute, (group, reference) in PAIRS.items():
        table = np.zeros((len(worst), 2, 2, 2))  # (combination, group/reference, selected, label)
        for side, value in enumerate((group, reference)):
            for c in cells:  # a cell without sex still counts for born abroad, as in fairness.measure
                if c.split("|")[PAIRS_INDEX[attribute]] != value:
                    continue
                table[:, side, 1, 1] += hits[c]
                table[:, side, 1, 0] += k[c] - hits[c]
                table[:, side, 0, 1] += positives[c] - hits[c]
                table[:, side, 0, 0] += n[c] - positives[c] - (k[c] - hits[c])
        rates = cell_rates(table)
        for metric in ("selection_rate", "fpr", "precision"):
            with np.errstate(invalid="ignore", divide="ignore"):
                gap = np.abs(np.log(rates[metric][:, 0] / rates[metric][:, 1]))
            worst = np.maximum(worst, np.where(np.isfinite(gap), gap, np.inf))
    total_hits = sum(hits.values())

    def choice(band: float, best: int) -> Choice:
        return Choice(band, {c: float(k[c][best] / n[c]) if n[c] else 0.0 for c in cells}, int(total_hits[best]),
                      int(sum(k[c][best] for c in cells)), float(np.exp(worst[best])))

    out = []
    for band in bands:
        ok = np.flatnonzero(worst <= np.log(band) + 1e-12)
        if len(ok):  # most hits; among equals, the fairest
            out.append(choice(band, ok[np.lexsort((worst[ok], -total_hits[ok]))[0]]))
    if fairest and len(worst):
        # where no band is met, the fairest combination still says how near the table allows
        best = int(np.lexsort((-total_hits, worst))[0])
        out.append(choice(float(np.exp(worst[best])), best))
    return out


PAIRS_INDEX = {"sex": 0, "born_abroad": 1}


def _in_pairs(cell: str) -> bool:
    return all(part in PAIRS[a] for a, part in zip(PAIRS_INDEX, cell.split("|"), strict=True))


def apply_shares(frame: pd.DataFrame, scores: np.ndarray, shares: dict[str, float], share: float) -> np.ndarray:
    """Select the top round(shares[cell] x rows of the cell) of each cell by score (cells the shares do not name:
    the overall share), as a boolean mask over `frame`'s rows."""
    from riskrank.training.metrics import top_k_by_group

    keys = cell_keys(frame)
    sizes = keys.value_counts()
    capacity = {c: int(round(shares.get(c, share) * m)) for c, m in sizes.items()}
    ranked = pd.DataFrame({"cell": keys.to_numpy(), "score": np.asarray(scores, dtype=float)})
    return top_k_by_group(ranked, "score", capacity, "cell").to_numpy()
