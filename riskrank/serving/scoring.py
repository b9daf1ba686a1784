"""One case's score with its explanation, from a prepared row. Shared by the case, body and worklist endpoints."""

from __future__ import annotations

from typing import Any

import numpy as np

from riskrank.model.scoring import sigmoid
from riskrank.serving.snapshot import Snapshot


def explain_rows(
    snapshot: Snapshot, X: np.ndarray, top: int, scores: np.ndarray | None = None
) -> tuple[float, np.ndarray, np.ndarray, list[dict[str, list[dict[str, Any]]]]]:
    """(base_value, scores, contributions, explanation per row) for prepared rows, in one Booster call; an
    explanation is {"reasons": raising, "reasons_lowering": lowering} (see explain.Explainer.explain).

    `scores` are the snapshot's precomputed scores for these rows, if known, so rankings and shown scores agree
    to the last bit; otherwise the score is the sigmoid of the same raw sum as the contributions.
    """
    base, contributions = snapshot.model.contributions(X)
    shown = np.asarray(sigmoid(base + contributions.sum(axis=1))) if scores is None else scores
    explained = [snapshot.explainer.explain(X[i], contributions[i], top) for i in range(len(X))]
    return base, shown, contributions, explained


def score_payload(
    snapshot: Snapshot, row: np.ndarray, benefit: str | None, top: int, score: float | None = None
) -> dict[str, Any]:
    """The score response body (without case id or notice) for one prepared 1 x F row, explained by the model now."""
    base, scores, contributions, _ = explain_rows(snapshot, row, 0, None if score is None else np.array([score]))
    return explained_payload(snapshot, row[0], contributions[0], base, float(scores[0]), benefit, top)


def explained_payload(
    snapshot: Snapshot, row: np.ndarray, contributions: np.ndarray, base: float, score: float, benefit: str | None, top: int
) -> dict[str, Any]:
    """The score response body from a row and its contributions, computed now or stored by the nightly run."""
    model = snapshot.model
    return {
        "benefit": benefit,
        "score": score,
        "percentile": snapshot.percentile(score, benefit) if benefit is not None else None,
        "model": {"name": model.name, "version": model.version, "alias": model.alias},
        "base_value": base,
        "contributions": dict(zip(snapshot.explainer.names, contributions.tolist(), strict=True)),
        **snapshot.explainer.explain(row, contributions, top),
    }


def audit_reasons(explained: dict[str, Any]) -> list[dict[str, Any]]:
    """What the audit log keeps of the reasons shown (raising, then lowering): feature, value and contribution."""
    shown = explained["reasons"] + explained["reasons_lowering"]
    return [{"feature": r["feature"], "value": r["value"], "contribution": r["contribution"]} for r in shown]
