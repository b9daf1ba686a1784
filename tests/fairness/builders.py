"""Hand-made fairness numbers for the gate tests."""

from riskrank.fairness.measure import GroupRatio


def hand_ratio(value: float, support: int = 100, metric: str = "selection_rate", width: float = 0.1) -> GroupRatio:
    lo, hi = value - width, value + width
    return GroupRatio("born_abroad", "True", "False", metric, value, lo, hi, lo, hi, support, 0.1, 0.1)
