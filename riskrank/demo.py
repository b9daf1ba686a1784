"""`riskrank demo`: the whole chain on a small world, through the same functions the commands use.

simulate -> features (two snapshots in the feature store, so drift has a reference) -> train and register
-> promote through the gates -> demo users -> the world's closed investigations as outcome history
-> serve. Prints where to look.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pandas as pd
from rich.console import Console

from riskrank.errors import UserError
from riskrank.settings import get_settings
from riskrank.world import META_FILE, World, is_world, read_world, write_world

console = Console()
ROLES = ("investigator", "manager", "data_scientist", "auditor")


def _world(world_dir: Path, scale: float, seed: int) -> None:
    import json

    from riskrank.simulation import generate

    if is_world(world_dir):
        meta = json.loads((world_dir / META_FILE).read_text()) if (world_dir / META_FILE).exists() else {}
        if meta.get("scale") == scale and meta.get("seed") == seed:
            console.print(f"[1/6] world: reusing {world_dir} (scale {scale}, seed {seed})")
            return
        raise UserError(f"{world_dir} holds another world (scale {meta.get('scale')}, seed {meta.get('seed')}); "
                        "pass another --out or remove it")
    console.print(f"[1/6] world: simulating scale {scale}, seed {seed} -> {world_dir}")
    write_world(generate(scale, seed, progress=True), world_dir)


def _features(world: World, out: Path, engine) -> tuple[pd.Timestamp, int]:
    from riskrank.features.pipeline import features_as_of
    from riskrank.features.store import FeatureStore

    end = pd.Timestamp(world.meta["end_date"])
    store = FeatureStore(engine)
    # The earlier snapshot is the drift reference on the dashboard; the latest is what the service scores.
    for as_of in (end - pd.DateOffset(years=1), end):
        frame = features_as_of(world, as_of)
        frame.to_parquet(out / f"features-{as_of.date()}.parquet", index=False)
        store.write(frame, as_of)
        console.print(f"[2/6] features: {len(frame):,} active cases as of {as_of.date()} -> feature store")
    return end, len(frame)


def _train(world_dir: Path, settings) -> int:
    from riskrank.training.pipeline import run_training

    console.print("[3/6] training and registering a model (MLflow)")
    outcome = run_training(world_dir, settings=settings, step=lambda s: console.print(f"      {s}"))
    shown = ("cap_hit_rate", "cap_random_rate", "cap_lift", "cap_oracle_ratio", "test_auc", "random_sample_hit_rate")
    console.print("      " + ", ".join(f"{k} {outcome.metrics[k]:.3f}" for k in shown if k in outcome.metrics))
    if outcome.fairness is not None:
        console.print(f"      fairness-aware training: {outcome.fairness.reason}")
    return int(outcome.version)


def _promote(version: int, settings) -> None:
    from riskrank.training.gates import PromotionRefused
    from riskrank.training.promotion import promote

    try:
        promote(version, user="demo", reason="demo: first model", settings=settings)
        console.print(f"[4/6] promotion: version {version} passed the gates and is champion")
    except PromotionRefused as refusal:
        # Fallback only: fairness-aware training normally yields a model that passes. The demo must serve
        # something, so it says so loudly and the override is in the promotion log.
        console.print(f"[4/6] promotion: [bold red]FALLBACK: the gates refused version {version}[/bold red]:\n{refusal}")
        promote(version, force=True, user="demo", settings=settings,
                reason="demo only: gates refused even the fairness-aware model; forced so the demo has a model to serve")
        console.print("      [bold red]FORCED for the demo (recorded in the promotion log); "
                      "in production this version would not serve[/bold red]")


def _users(engine) -> dict[str, str]:
    from riskrank.serving.auth import add_user
    from riskrank.serving.tables import create_serving_tables

    create_serving_tables(engine)
    suffix = secrets.token_hex(2)  # reruns add new demo users instead of failing on existing names
    return {role: add_user(engine, f"demo-{role}-{suffix}", role) for role in ROLES}


def _history(world: World, engine) -> int:
    from riskrank.monitoring.sources import import_world_outcomes

    return import_world_outcomes(world, engine)


def run_demo(out: str, scale: float, seed: int, port: int, serve_after: bool) -> None:
    from riskrank.db import get_engine

    settings = get_settings()
    if not 0 < scale <= 0.1:
        raise UserError(f"the demo runs small worlds: --scale must be in (0, 0.1], got {scale}")
    out_dir = Path(out)
    world_dir = out_dir / "world"
    out_dir.mkdir(parents=True, exist_ok=True)
    Path("mlruns").mkdir(exist_ok=True)
    engine = get_engine(settings.database_url)

    _world(world_dir, scale, seed)
    world = read_world(world_dir, with_truth=False)  # the model never sees truth; read once for features and history
    as_of, n_cases = _features(world, out_dir, engine)
    version = _train(world_dir, settings)
    _promote(version, settings)
    tokens = _users(engine)
    console.print(f"[5/6] users: one demo user per role ({', '.join(ROLES)})")
    imported = _history(world, engine)
    console.print(f"[6/6] outcomes: {imported:,} closed investigations of 2022-2024 imported as history")

    base = f"http://{settings.host}:{port}"
    some_case = int(pd.read_parquet(out_dir / f"features-{as_of.date()}.parquet", columns=["case_id"])["case_id"].iloc[0])
    lines = (
        f"World and features: {out_dir.resolve()}\n"
        f"Operational store: {settings.database_url}\n"
        f"MLflow store: {settings.mlflow_tracking_uri}  (browse: .venv/bin/mlflow ui --backend-store-uri "
        f"{settings.mlflow_tracking_uri})\n"
        f"API docs: {base}/docs\n"
        f"Dashboard (manager token): {base}/dashboard\n\n"
        + "\n".join(f"token {role:<15} {token}" for role, token in tokens.items())
        + f"\n\nTry: curl -H 'Authorization: Bearer {tokens['investigator']}' {base}/v1/cases/{some_case}/score\n"
        f"The score ranks cases for investigators to look at; it is never a decision."
    )
    console.rule(f"riskrank demo: model version {version}, {n_cases:,} active cases as of {as_of.date()}")
    console.print(lines, soft_wrap=True, highlight=False)  # soft_wrap keeps tokens and commands copyable
    if serve_after:
        import uvicorn

        from riskrank.serving.app import create_app

        console.print(f"serving on {base} (Ctrl-C to stop)")
        uvicorn.run(create_app(settings), host=settings.host, port=port, log_level="warning")
