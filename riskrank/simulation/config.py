"""Settings of one synthetic world; everything that changes what `generate` produces lives here."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

GENERATOR_VERSION = "3.0.0"


@dataclass(frozen=True)
class SimConfig:
    # Share of investigations that are the random control sample, drawn uniformly from active cases.
    random_share: float = 0.05
    # A new error pattern from drift_start: working while on sjukpenning, reported by UBM (started 2024).
    drift: bool = True
    drift_start: str = "2024-04-01"
    # Multipliers of the TRUE error rate for women / people born abroad (1.0: rates do not depend on group).
    female_error_ratio: float = 1.0
    born_abroad_error_ratio: float = 1.0
    # How strongly innocent traces (moves, returned mail, permits) correlate with born_abroad and sex.
    proxy_strength: float = 1.0
    # Seed of the agency's triage and investigation draws alone (None: the world's seed); notifications,
    # truth and traces stay the same under another triage seed.
    triage_seed: int | None = None
    start: str = "2022-01-01"
    end: str = "2024-12-31"

    def validate(self) -> None:
        if not 0.0 <= self.random_share < 1.0:
            raise ValueError(f"random_share must be in [0, 1), got {self.random_share}")
        if self.female_error_ratio <= 0 or self.born_abroad_error_ratio <= 0:
            raise ValueError("error ratios must be positive")
        if self.proxy_strength < 0:
            raise ValueError(f"proxy_strength must be >= 0, got {self.proxy_strength}")
        if self.triage_seed is not None and self.triage_seed < 0:
            raise ValueError(f"triage_seed must be a non-negative integer, got {self.triage_seed}")
        if not (self.start == "2022-01-01" and self.end == "2024-12-31"):
            # The calibration tables cover exactly 2022-2024; other windows would have no targets.
            raise ValueError("only the calibrated window 2022-01-01 .. 2024-12-31 is supported")
        try:
            date.fromisoformat(self.drift_start)
        except ValueError:
            raise ValueError(f"drift_start must be a date like 2024-04-01, got {self.drift_start!r}") from None
        if not self.start <= self.drift_start <= self.end:
            raise ValueError(f"drift_start {self.drift_start} must lie within {self.start} .. {self.end}")

    def as_dict(self) -> dict:
        return asdict(self)
