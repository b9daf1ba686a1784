"""What `riskrank promote` and the demo print of a gate: its whole detail, the [...] lists of ratios within noise and
not judged for want of power included, which rich would take for markup and drop."""

from rich.console import Console

from riskrank.fairness.gate import fairness_gate
from riskrank.promotion.commands import gate_line
from tests.fairness.builders import hand_ratio


def test_the_printed_gate_keeps_the_ratios_it_could_not_judge():
    gate = fairness_gate([hand_ratio(1.1, width=0.6), hand_ratio(1.4, width=0.7, metric="fpr")])
    assert "[not judged for want of power" in gate.detail and "[outside the band but within noise" in gate.detail
    console = Console(record=True, width=400)
    console.print(gate_line(gate))
    printed = console.export_text()
    assert printed.strip() == f"pass fairness: {gate.detail}"
