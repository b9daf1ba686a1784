"""The synthetic world: persons, benefit cases, signals, control investigations and ground truth.

Public API: `SimConfig`, `generate`, `calibration_report`. They are loaded on first use so that
importing the CLI (which imports `riskrank.simulation.commands`) does not pull in numpy and pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskrank.simulation.config import SimConfig
    from riskrank.simulation.generator import generate
    from riskrank.simulation.report import calibration_report

__all__ = ["SimConfig", "generate", "calibration_report"]

_HOMES = {"SimConfig": "riskrank.simulation.config", "generate": "riskrank.simulation.generator",
          "calibration_report": "riskrank.simulation.report"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'riskrank.simulation' has no attribute {name!r}")
