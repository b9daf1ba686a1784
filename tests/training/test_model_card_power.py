"""The model card says, per fairness ratio, its interval, the detectable ratio and whether it was judged; the ratios
a small evaluation could not judge are named, not hidden behind a pass."""

import pandas as pd

from riskrank.fairness.measure import group_ratios
from riskrank.training import model_card
from tests.fairness.test_power import _evaluation


def _card(times: int) -> str:
    ratios = group_ratios(_evaluation(times), "born_abroad", reference="False", n_boot=1000)
    return model_card.render(version=1, run_id="r", feature_set_version="f", data_hash="h", split={}, counts={},
                             feature_names=["x"], metrics={}, per_benefit=pd.DataFrame(), fairness=ratios,
                             population_note="", importance=pd.Series({"x": 1.0}))


def test_the_card_names_the_ratios_it_could_not_judge():
    small = _card(1)
    assert "| detectable | verdict |" in small
    not_judged = small.split("**Not judged**")[1].split("\n")[0]
    assert "born_abroad=True selection_rate 1.10 (not judged, detectable" in not_judged
    large = _card(40)
    judged_line = next(line for line in large.splitlines() if "overall ratios" in line or "was judged" in line)
    assert "selection_rate" not in judged_line
    row = next(line for line in large.splitlines() if line.startswith("| overall | born_abroad | True | False | selection_rate"))
    assert row.rstrip().endswith("| in band |")
