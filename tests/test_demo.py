"""`riskrank demo` end to end in a temporary folder, as a user runs it (without the final serve)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

RISKRANK = str(Path(sys.executable).with_name("riskrank"))


@pytest.mark.slow
def test_demo_builds_everything_the_service_needs(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKRANK_")}
    run = subprocess.run([RISKRANK, "demo", "--scale", "0.004", "--no-serve"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "Traceback" not in out + run.stderr
    for where in ("/docs", "/dashboard", "sqlite:///mlruns/mlflow.db", "token investigator"):
        assert where in out

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'riskrank.db'}")
    with engine.connect() as conn:
        imported = conn.execute(sa.text("select count(*) from outcomes")).scalar_one()
        moves = conn.execute(sa.text("select version, to_alias from promotions")).all()
        forced = conn.execute(sa.text("select count(*) from promotions where forced")).scalar_one()
        roles = {r for (r,) in conn.execute(sa.text("select role from users"))}
    assert imported > 0
    assert (1, "champion") in [(int(v), a) for v, a in moves]
    assert forced == 0, out  # the fairness-aware model passes the gates on its own
    assert roles == {"investigator", "manager", "data_scientist", "auditor"}

    # Run twice: the world is reused, a second version registered, and nothing fails on existing users.
    again = subprocess.run([RISKRANK, "demo", "--scale", "0.004", "--no-serve"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "reusing" in again.stdout


def test_demo_refuses_a_large_scale_without_touching_anything(tmp_path):
    run = subprocess.run([RISKRANK, "demo", "--scale", "0.5", "--no-serve"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "--scale must be in (0, 0.1]" in run.stderr
    assert list(tmp_path.iterdir()) == []
