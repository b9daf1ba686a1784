"""The fairness policy: the band, who is compared with whom, how much evidence a ratio needs, how it is judged.

The one source of these numbers: the gate, the sweep, the audit, the plots, the Excel report and the dashboard
(its JavaScript reads `as_dict()` from the dashboard payload) all take them from here.
"""

from __future__ import annotations

# The four-fifths rule, symmetric on the log scale: a ratio outside 0.8..1.25 signals disparate impact.
FAIR_LOW, FAIR_HIGH = 0.8, 1.25
# A ratio resting on fewer selected cases (false positives for the FPR) is listed, not judged.
MIN_SUPPORT = 10
# Reference group per sensitive attribute (None: the largest group), for the gate, the audit and the reports.
SENSITIVE_REFERENCES: dict[str, str | None] = {"sex": "M", "age_band": None, "born_abroad": "False"}
FAIRNESS_METRICS: tuple[str, ...] = ("selection_rate", "fpr", "precision")
REPORT_LEVEL = 0.90
# The gate judges ~15 ratios at once (5 non-reference groups x 3 metrics); a 99 % interval per ratio keeps the
# chance of refusing a fair model on noise alone near 10 % overall (Bonferroni), where 90 % each would make
# it likelier than not.
GATE_LEVEL = 0.99
# The power the gate must have to judge a ratio: a true ratio at the band's edge must be found beyond noise (its
# GATE_LEVEL interval excluding 1) at least this often; where the evaluation's cases give less, the ratio is
# reported "not judged" (fairness/gate.py detectable_ratio), and it does not refuse the model.
POWER = 0.80
N_BOOT = 2000  # bootstrap draws: cheap, as they are drawn over cell counts
OVERALL = "overall"
STRATUM = "benefit"  # fairness is also measured within each benefit (capacity is set per benefit)
JUDGED_SCOPE = f"within_{STRATUM}"  # the scope the gate judges at capacity
# The deeper cut the gate also judges: the top 1 % of all active cases on each evaluation date, one ranking over all
# benefits, where a ratio rests on thousands of selections instead of the few hundred at capacity. Only the attributes
# with two groups: over all benefits the age bands' ratios mostly say which benefits each band draws (pensions at 65+).
TOP_SCOPE = "top_share"
TOP_SHARE_ATTRIBUTES: tuple[str, ...] = ("sex", "born_abroad")


def band_text() -> str:
    """The band as people read it, e.g. in messages and plot legends: "0.8-1.25"."""
    return f"{FAIR_LOW:g}-{FAIR_HIGH:g}"


def in_band(ratio: float) -> bool:
    return FAIR_LOW <= ratio <= FAIR_HIGH


def as_dict() -> dict:
    """What the dashboard's JavaScript needs of the policy."""
    return {"band": [FAIR_LOW, FAIR_HIGH], "min_support": MIN_SUPPORT, "references": SENSITIVE_REFERENCES}
