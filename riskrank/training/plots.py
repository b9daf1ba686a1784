"""PNG plots of an evaluation (matplotlib Agg, no display needed). Each function writes one file and returns its path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskrank.fairness.policy import FAIR_HIGH, FAIR_LOW, band_text


def _figure(ncols: int = 1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, ncols, figsize=(5.5 * ncols, 4.2), dpi=100)
    return plt, fig, ax


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def roc_plot(labels: np.ndarray, scores: np.ndarray, path: Path, auc: float) -> Path:
    from sklearn.metrics import roc_curve

    plt, fig, ax = _figure()
    if len(np.unique(labels)) == 2:
        fpr, tpr, _ = roc_curve(labels, scores)
        ax.plot(fpr, tpr, label=f"model (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC, closed test investigations")
    ax.legend(loc="lower right")
    return _save(plt, fig, path)


def pr_plot(labels: np.ndarray, scores: np.ndarray, path: Path, ap: float) -> Path:
    from sklearn.metrics import precision_recall_curve

    plt, fig, ax = _figure()
    if labels.sum() > 0:
        precision, recall, _ = precision_recall_curve(labels, scores)
        ax.step(recall, precision, where="post", label=f"model (AP {ap:.3f})")
        ax.axhline(labels.mean(), ls="--", color="grey", label="base rate")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, closed test investigations")
    ax.legend(loc="upper right")
    return _save(plt, fig, path)


def calibration_plot(mean_score: np.ndarray, observed: np.ndarray, count: np.ndarray, ece: float, path: Path) -> Path:
    plt, fig, ax = _figure()
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot(mean_score, observed, "o-", label=f"model (ECE {ece:.3f})")
    for x, y, n in zip(mean_score, observed, count, strict=True):
        ax.annotate(str(int(n)), (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set(xlabel="mean predicted probability", ylabel="observed share with action", title="Calibration (reliability)")
    ax.legend(loc="upper left")
    return _save(plt, fig, path)


def reliability_plot(curves: list[tuple[str, np.ndarray, np.ndarray]], path: Path, n_bins: int = 10) -> Path:
    """Reliability of several (label, outcomes, probabilities) on one chart, bins of equal count (sklearn.calibration)."""
    from sklearn.calibration import calibration_curve

    plt, fig, ax = _figure()
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    top = 0.05
    for label, outcomes, probabilities in curves:
        if len(np.unique(outcomes)) < 2:
            continue
        observed, predicted = calibration_curve(outcomes, probabilities, n_bins=n_bins, strategy="quantile")
        ax.plot(predicted, observed, "o-", label=label)
        top = max(top, float(predicted.max()), float(observed.max()))
    ax.set(xlim=(0, min(1.0, top * 1.1)), ylim=(0, min(1.0, top * 1.1)), xlabel="mean predicted probability",
           ylabel="observed share", title="Calibration of the score and of the action probability")
    ax.legend(loc="upper left", fontsize=7)
    return _save(plt, fig, path)


def capacity_plot(curve: pd.DataFrame, path: Path) -> Path:
    plt, fig, ax = _figure()
    for column, style in (("model", "o-"), ("oracle", "s--"), ("random", "^:")):
        if column in curve:
            ax.plot(curve["capacity_factor"], curve[column], style, label=column)
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set(xlabel="capacity (1 = investigations per month per benefit)", ylabel="hit rate among selected",
           title="Hit rate by capacity")
    ax.legend()
    return _save(plt, fig, path)


def importance_plot(importance: pd.Series, path: Path, top: int = 20) -> Path:
    plt, fig, ax = _figure()
    shown = importance.sort_values().tail(top)
    ax.barh(shown.index.astype(str), shown.to_numpy())
    ax.set(xlabel="mean |SHAP contribution| (log-odds)", title="Global importance (TreeSHAP)")
    ax.tick_params(axis="y", labelsize=7)
    return _save(plt, fig, path)


def tree_shap(booster, X: pd.DataFrame) -> np.ndarray:
    """LightGBM's own TreeSHAP contributions (n x inputs, log-odds, the bias column dropped): the values serving
    shows investigators as reasons (tests check they equal the shap package's TreeExplainer)."""
    return np.asarray(booster.predict(X, pred_contrib=True))[:, :-1]


def shap_importance(contributions: np.ndarray, columns) -> pd.Series:  # noqa: ANN001 - column names
    """Mean absolute TreeSHAP contribution per input."""
    return pd.Series(np.abs(contributions).mean(axis=0), index=list(columns)).sort_values(ascending=False)


def shap_summary_plot(contributions: np.ndarray, X: pd.DataFrame, path: Path, top: int = 15) -> Path | None:
    """shap's summary (one dot per case and input: its contribution, coloured by the input's value) of the
    contributions over the evaluation population: the global view of how each input moves the score. None where
    the shap package (riskrank[train]) is not installed: the run then goes on without it."""
    from riskrank.extras import MissingExtra, needs_extra

    try:
        with needs_extra("train", "the shap summary plot"):
            import shap
    except MissingExtra:
        return None
    plt, fig, _ = _figure()
    # shap colours by value: categoricals as their codes, missing values grey.
    values = X.apply(lambda col: col.cat.codes.where(col.notna()) if isinstance(col.dtype, pd.CategoricalDtype) else col)
    shap.summary_plot(contributions, values.astype(float), max_display=top, show=False, plot_size=(7.5, 6.0))
    fig = plt.gcf()
    fig.axes[0].set_xlabel("TreeSHAP contribution (log-odds of action, before calibration)")
    fig.axes[0].set_title("Effects of the inputs over the evaluation population")
    return _save(plt, fig, path)


def trade_off_plot(trade_off: pd.DataFrame, chosen_weight: float, path: Path) -> Path:
    """Per penalty weight, hit rate against the worst fairness ratio: at capacity (the ratios the gate judges) and,
    where the run measured it, in the top 1 % of active cases (the deeper cut the choice reads)."""
    panels = [("worst_ratio", "cap_hit_rate", "hit rate at capacity", "at capacity (worst ratio the gate judges)")]
    if "top_share_hit_rate" in trade_off and trade_off["top_share_hit_rate"].notna().any():
        panels.append(("top_share_worst_ratio", "top_share_hit_rate", "hit rate in the top 1 %",
                       "in the top 1 % of active cases (worst of sex, born abroad)"))
    plt, fig, axes = _figure(len(panels))
    for ax, (x, y, ylabel, title) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.axvspan(FAIR_LOW, FAIR_HIGH, color="#e8f5e9", label=f"band {band_text()}")
        for row in trade_off.itertuples(index=False):
            colour = "#2e7d32" if row.passes_fairness_gate else "#c62828"
            marker = "*" if row.weight == chosen_weight else "o"
            ax.scatter(getattr(row, x), getattr(row, y), color=colour, marker=marker, s=140 if marker == "*" else 40)
            ax.annotate(f"w={row.weight:g}", (getattr(row, x), getattr(row, y)), textcoords="offset points", xytext=(5, 4))
        ax.set(xlabel="worst fairness ratio (1 = equal)", ylabel=ylabel, title=title)
        ax.legend(loc="lower left", fontsize=8)
    fig.suptitle("Fairness trade-off (green: passes the gate, *: chosen)")
    return _save(plt, fig, path)
