"""riskrank: risk ranking of benefit cases for control investigation (a ranking aid, never a decision)."""

__version__ = "0.1.0"
