"""The synthetic world: persons, benefit cases, signals, control investigations and ground truth."""

from riskrank.simulation.config import SimConfig
from riskrank.simulation.generator import generate

__all__ = ["SimConfig", "generate", "calibration_report"]


def calibration_report(world):  # noqa: ANN001, ANN201 - thin lazy wrapper keeps `import riskrank.simulation` light
    from riskrank.simulation.report import calibration_report as _report

    return _report(world)
