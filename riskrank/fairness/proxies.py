"""Proxy screening: for each model input, how much it tells about a sensitive group beyond what it tells about
the label.

Within each label class of the training investigations (with action / without), and within each benefit where a
stratum is given, the input's values are used to tell a group from the rest (ROC-AUC, folded so that 0.5 = no
information and 1 = perfect); the cells' figures are averaged weighted by their size. Because it is measured
within label classes, a feature that only differs between groups because their error rates differ scores near
0.5: what is left is the proxy part. Categorical inputs are scored through the group's share in each category
(within the class), so that their figure reads the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _folded_auc(values: np.ndarray, member: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if member.all() or not member.any():
        return float("nan")
    auc = roc_auc_score(member, values)
    return float(max(auc, 1 - auc))


def _as_numbers(column: pd.Series, member: np.ndarray) -> np.ndarray:
    """Numeric view of an input: numbers as they are (missing ranked below all), categories as the group's share in
    each category, so that AUC measures how well the category tells the group."""
    if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == object:
        text = column.astype("string").fillna("<missing>")
        share = pd.Series(member.astype(float)).groupby(text.to_numpy()).mean()
        return text.map(share).to_numpy(dtype=float)
    numbers = column.to_numpy(dtype=float)
    missing = ~np.isfinite(numbers)
    low = numbers[~missing].min() - 1 if (~missing).any() else 0.0
    return np.where(missing, low, numbers)


def proxy_report(frame: pd.DataFrame, inputs: Sequence[str], label: str, groups: dict[str, str | None],
                 stratum: str | None = None) -> pd.DataFrame:
    """One row per (input, attribute, group vs rest): the within-label folded AUC, strongest first.

    With `stratum` (e.g. "benefit", as the fairness gate judges) the AUC is taken within each (stratum, label)
    cell and averaged by size, so an input that tells the group only through how groups spread over benefits
    (the amount of a pension and the 65+ band) is not reported as a proxy."""
    rows = []
    y = frame[label].to_numpy()
    strata = frame[stratum].astype("string").fillna("<missing>").to_numpy() if stratum else np.zeros(len(frame))
    cells = [(y == cls) & (strata == s) for s in np.unique(strata) for cls in (0, 1)]
    for attribute in groups:
        if attribute not in frame.columns:
            continue
        values = frame[attribute].astype("string")
        for group in sorted(values.dropna().unique()):
            member = (values == group).fillna(False).to_numpy(dtype=bool)
            if len(set(values.dropna())) == 2 and group != sorted(values.dropna().unique())[0]:
                continue  # two groups: one side says it all
            for name in inputs:
                scores, weights = [], []
                for cell in cells:
                    auc = _folded_auc(_as_numbers(frame.loc[cell, name], member[cell]), member[cell])
                    if np.isfinite(auc):
                        scores.append(auc)
                        weights.append(cell.sum())
                if scores:
                    rows.append({"input": name, "attribute": attribute, "group": group,
                                 "auc_within_label": float(np.average(scores, weights=weights))})
    out = pd.DataFrame(rows, columns=["input", "attribute", "group", "auc_within_label"])
    return out.sort_values("auc_within_label", ascending=False, ignore_index=True)
