"""Checks features sent in a request body against the serving model: every problem named, none silently fixed."""

from __future__ import annotations

import math
from typing import Any

from riskrank.serving.explain import Explainer


def feature_problems(features: dict[str, Any], explainer: Explainer) -> list[dict[str, Any]]:
    """Problems in FastAPI's 422 shape ({loc, msg, type}); an empty list means the row can be scored."""
    problems: list[dict[str, Any]] = []

    def problem(name: str, msg: str, kind: str) -> None:
        problems.append({"loc": ["body", "features", name], "msg": msg, "type": kind})

    known = set(explainer.names)
    for name in features:
        if name not in known:
            problem(name, f"unknown feature {name!r}; the model has {len(known)} (GET /v1/model)", "unknown_feature")
    for j, name in enumerate(explainer.names):
        if name not in features:
            problem(name, f"missing feature {name!r}", "missing_feature")
            continue
        value, dtype, cats = features[name], explainer.dtypes[j], explainer.categories[j]
        is_nan = value is None or (isinstance(value, float) and math.isnan(value))
        if cats is not None:
            if is_nan:
                problem(name, f"{name} is a category and may not be null; one of {cats}", "null_not_allowed")
            elif not isinstance(value, str) or value not in cats:
                problem(name, f"{name} must be one of {cats}, got {value!r}", "unknown_category")
        elif dtype == "bool":
            if not isinstance(value, bool):
                problem(name, f"{name} must be true or false, got {value!r}", "bool_type")
        elif isinstance(value, bool) or not (value is None or isinstance(value, int | float)):
            problem(name, f"{name} must be a number{' or null' if dtype == 'float' else ''}, got {value!r}", "number_type")
        elif is_nan:
            if dtype != "float":
                problem(name, f"{name} is an {dtype} and may not be null or NaN", "null_not_allowed")
        elif math.isinf(number := float(value or 0)):  # value is a number here: is_nan covers None
            problem(name, f"{name} must be finite, got {value!r}", "not_finite")
        elif dtype == "int" and number != int(number):
            problem(name, f"{name} must be a whole number, got {value!r}", "int_type")
    return problems
