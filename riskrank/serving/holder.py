"""The model holder: which model version serves, and swapping in a new one without dropping requests.

Requests read `holder.current` once and keep that Snapshot for their whole life; a reload builds the
next Snapshot aside and replaces the reference in one assignment. The snapshot's scores come from the
newest nightly run of that version (`riskrank score-all`), or, where the feature store holds a newer date
than any such run, are computed from the store. A background thread polls the registry for a moved champion
alias, and the score store and feature store for newer scores. When a new version fails to load, the old one
keeps serving and `status()` (shown by /ready) says which version failed and why.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from riskrank.batch import score_store
from riskrank.db import get_engine
from riskrank.model import registry
from riskrank.model.registry import load_model
from riskrank.model.scoring import ScoringModel
from riskrank.serving.featuresource import FeatureSource
from riskrank.serving.snapshot import Snapshot, from_features, from_run
from riskrank.settings import Settings

log = logging.getLogger("riskrank.serving.holder")

ALIAS = registry.CHAMPION


@dataclass(frozen=True)
class LoadFailure:
    version: int | None
    error: str
    at: str


def _alias_version(settings: Settings, alias: str) -> int:
    if not registry.store_exists(settings.mlflow_tracking_uri):
        raise FileNotFoundError(f"no MLflow store at {settings.mlflow_tracking_uri}; train and promote a model first")
    version = registry.alias_version(registry.client(settings), settings.model_name, alias)
    if version is None:
        raise LookupError(f"no version of model {settings.model_name!r} has alias {alias!r}")
    return version


def _load_version(settings: Settings, version: int) -> ScoringModel:
    model = load_model(
        version=version, tracking_uri=settings.mlflow_tracking_uri, model_name=settings.model_name
    )
    model.alias = ALIAS
    return model


class ModelHolder:
    def __init__(
        self,
        settings: Settings,
        feature_source: FeatureSource | None,
        resolve_version: Callable[[Settings, str], int] = _alias_version,
        load_version: Callable[[Settings, int], ScoringModel] = _load_version,
    ) -> None:
        self.settings = settings
        self.feature_source = feature_source
        self._resolve_version = resolve_version
        self._load_version = load_version
        self.current: Snapshot | None = None
        self.failure: LoadFailure | None = None
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, poll: bool = True) -> None:
        self.refresh()
        if poll and self.settings.model_poll_seconds > 0:
            self._thread = threading.Thread(target=self._poll, name="riskrank-model-poll", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _poll(self) -> None:
        while not self._stop.wait(self.settings.model_poll_seconds):
            try:
                self.refresh()
            except sa.exc.OperationalError as exc:
                # The database is restarting or unreachable: expected now and then, so one line, not a traceback; the
                # snapshot in memory keeps serving and the next poll tries again.
                log.warning("model poll: the database is unavailable (%s); still serving version %s, retrying in %s s",
                            type(exc.orig).__name__, self.current.version if self.current else None,
                            self.settings.model_poll_seconds)
            except Exception:  # keep polling whatever happens; the failure is logged and shown in /ready
                log.exception("model poll failed")

    # -- reloading ------------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> dict[str, Any]:
        """Load the champion if its alias moved (or `force`), rebuild the snapshot if newer scores or features exist.

        A version that failed once is not retried by the poll (it would fail the same way); `force` retries.
        """
        with self._reload_lock:
            current = self.current
            try:
                wanted = self._resolve_version(self.settings, ALIAS)
            except Exception as exc:
                self._record_failure(None, f"cannot resolve alias {ALIAS!r}: {exc}")
                return self.status()
            same_model = current is not None and current.version == wanted
            failed_before = self.failure is not None and self.failure.version == wanted
            if not same_model and (force or not failed_before):
                try:
                    model = self._load_version(self.settings, wanted)
                    snapshot = self._build(model)
                except Exception as exc:
                    self._record_failure(wanted, f"{type(exc).__name__}: {exc}")
                    return self.status()
                self.current, self.failure = snapshot, None
                log.info("now serving %s version %s (was %s)", self.settings.model_name, wanted,
                         current.version if current else None)
            elif current is not None and _key(*(source := self._source_of(current.model))) != _snapshot_key(current):
                self.current = self._build(current.model, source)
                log.info("scores refreshed: %s", _describe(self.current))
            if same_model and self.failure is not None and self.failure.version != wanted:
                self.failure = None  # the alias moved back to the serving version: nothing is pending any more
            return self.status()

    def _source_of(self, model: ScoringModel) -> tuple[str, Any]:
        """Where this model's scores come from now: ("run", its newest finished ScoreRun) unless the feature store
        holds a newer date, then ("features", that as-of date)."""
        features_as_of = self.feature_source.latest_as_of() if self.feature_source is not None else None
        run = score_store.latest_run(get_engine(self.settings.database_url), model.name, model.version)
        if run is not None and (features_as_of is None or run.as_of >= features_as_of):
            return "run", run
        return "features", features_as_of

    def _build(self, model: ScoringModel, source_of: tuple[str, Any] | None = None) -> Snapshot:
        """The snapshot of `model`'s scores from `source_of` (looked up when not given)."""
        kind, source = source_of or self._source_of(model)
        if kind == "run":
            stored, explanations = score_store.load_scores(get_engine(self.settings.database_url), source)
            return from_run(model, stored, explanations, self.feature_source)
        return from_features(model, self.feature_source, source)

    def _record_failure(self, version: int | None, error: str) -> None:
        self.failure = LoadFailure(version, error, datetime.now(UTC).isoformat(timespec="seconds"))
        serving = self.current.version if self.current else None
        log.error("could not load model version %s (still serving %s): %s", version, serving, error)

    def status(self) -> dict[str, Any]:
        current = self.current
        return {
            "model_loaded": current is not None,
            "model_version": current.version if current else None,
            "features_as_of": current.as_of.isoformat() if current and current.as_of else None,
            "cases_in_snapshot": int(len(current.case_ids)) if current else 0,
            "scores": _scores_status(current),
            "failed_version": None
            if self.failure is None
            else {"version": self.failure.version, "error": self.failure.error, "at": self.failure.at},
        }


def _key(kind: str, source: Any) -> tuple[str, Any]:
    """What identifies a set of scores: the run's id, or the feature store's as-of date."""
    return (kind, source.run_id) if kind == "run" else (kind, source)


def _snapshot_key(snapshot: Snapshot) -> tuple[str, Any]:
    return _key("run", snapshot.run) if snapshot.run is not None else _key("features", snapshot.as_of)


def _describe(snapshot: Snapshot) -> str:
    if snapshot.run is not None:
        return f"nightly run {snapshot.run.run_id} as of {snapshot.as_of}"
    return f"scored from the feature store as of {snapshot.as_of}"


def _scores_status(snapshot: Snapshot | None) -> dict[str, Any] | None:
    """What /ready says about the scores: how many cases, as of which date, from where, finished when."""
    if snapshot is None:
        return None
    run = snapshot.run
    return {
        "cases": int(len(snapshot.case_ids)),
        "as_of": snapshot.as_of.isoformat() if snapshot.as_of else None,
        "source": "nightly" if run is not None else "feature_store",
        "run_id": run.run_id if run is not None else None,
        "scored_at": run.finished_at.isoformat(timespec="seconds") if run is not None and run.finished_at else None,
        "with_reasons": len(snapshot.explanations),
    }
