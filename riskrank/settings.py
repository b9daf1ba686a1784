"""Runtime settings, read from the environment with prefix RISKRANK_ (e.g. RISKRANK_DATABASE_URL)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The shipped pseudonym key: anyone can recompute pseudonyms made with it, so only the demo may serve with it.
DEFAULT_PSEUDONYM_KEY = "change-me-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RISKRANK_", env_file=".env", extra="ignore")

    home: Path = Path(".")
    # Operational store: features for serving, outcomes, users, audit log.
    database_url: str = "sqlite:///riskrank.db"
    # MLflow tracking + registry; artifacts live beside the database in mlruns/.
    mlflow_tracking_uri: str = "sqlite:///mlruns/mlflow.db"
    mlflow_artifact_root: str = "mlruns/artifacts"
    model_name: str = "riskrank"
    experiment_name: str = "riskrank"
    # Key for pseudonymising case and person ids in logs and the audit log.
    pseudonym_key: str = DEFAULT_PSEUDONYM_KEY
    # True only for `riskrank demo`: the one case where the service may start with the default pseudonym key.
    demo: bool = False
    # Ed25519 private key (PEM file) that signs audit-log checkpoints; `riskrank audit-log keygen` makes one.
    audit_signing_key: Path | None = None
    # SQLite's PRAGMA synchronous for the operational store. NORMAL: a committed audit entry survives a killed
    # process, not a power loss; FULL: it survives that too, at about 0.2-0.3 ms per commit (docs/serving.md).
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    # How long a SQLite request waits for a lock before the service answers 503 with Retry-After.
    database_busy_timeout_seconds: float = Field(default=5.0, gt=0)
    # Largest request body the service reads; larger ones get 413.
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # Share of every worklist drawn at random so hit rates can be measured without bias.
    random_share: float = 0.05
    # Show scores, percentiles and reasons in worklists; off by default, since a random case's low score gives it away.
    worklist_show_scores: bool = False
    # Control cost per closed investigation, SEK: Tabell 76 / Tabell 78 / Tabell 74, 2024 (derived: 7 240).
    cost_per_investigation_sek: float = 7240.0
    # Number format on the dashboard and in the Excel report: "sv" (7 240,5) or "en" (7,240.5).
    number_locale: Literal["sv", "en"] = "sv"
    host: str = "127.0.0.1"
    port: int = 8000
    # Seconds between checks for a moved champion alias.
    model_poll_seconds: float = 10.0


@lru_cache
def get_settings() -> Settings:
    return Settings()
