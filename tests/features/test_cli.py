"""`riskrank features` end to end through the real CLI entry point."""

import sys

import pandas as pd
import pytest

from riskrank import cli
from riskrank.features.registry import FEATURE_NAMES
from riskrank.features.store import FeatureStore
from riskrank.settings import get_settings
from riskrank.world import write_world
from tests.features.random_world import random_world


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("world")
    write_world(random_world(n_persons=120, seed=8), path)
    return path


def stderr(capsys) -> str:
    return " ".join(capsys.readouterr().err.split())  # rich wraps long lines


def run_cli(monkeypatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["riskrank", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    return exit_info.value.code


def test_writes_one_row_per_active_case_and_the_store(monkeypatch, world_dir, tmp_path):
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    monkeypatch.setenv("RISKRANK_DATABASE_URL", url)
    get_settings.cache_clear()
    out = tmp_path / "features.parquet"
    try:
        code = run_cli(monkeypatch, "features", "--world", str(world_dir), "--as-of", "2023-06-30", "--out", str(out), "--store")
    finally:
        get_settings.cache_clear()
    assert code == 0
    frame = pd.read_parquet(out)
    cases = pd.read_parquet(world_dir / "cases.parquet")
    active = cases.loc[(cases["start_date"] <= "2023-06-30") & ~(cases["end_date"] <= "2023-06-30")]
    assert sorted(frame["case_id"]) == sorted(active["case_id"])
    assert list(frame.columns) == ["case_id", "as_of", *FEATURE_NAMES]
    store = FeatureStore.from_url(url)
    assert str(store.latest_as_of()) == "2023-06-30" and len(store.latest_frame()) == len(frame)
    assert not list(tmp_path.glob(".*.tmp"))


def test_dask_engine_from_the_cli_matches_pandas(monkeypatch, world_dir, tmp_path):
    for engine in ("pandas", "dask"):
        assert run_cli(monkeypatch, "features", "--world", str(world_dir), "--as-of", "2024-01-31",
                       "--out", str(tmp_path / f"{engine}.parquet"), "--engine", engine) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "pandas.parquet"), pd.read_parquet(tmp_path / "dask.parquet"),
                                  check_exact=False, rtol=1e-9)


@pytest.mark.parametrize(("args", "message"), [
    (["--as-of", "2023-13-45"], "not a date"),
    (["--as-of", "2019-01-01"], "outside the world"),
    (["--as-of", "2030-01-01"], "outside the world"),
    (["--engine", "spark"], "spark"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --engine dask"),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(monkeypatch, capsys, world_dir, tmp_path, args, message):
    out = tmp_path / "f.parquet"
    base = {"--world": str(world_dir), "--as-of": "2023-06-30", "--out": str(out)}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    code = run_cli(monkeypatch, "features", *[x for kv in base.items() for x in kv])
    assert code == 2
    err = stderr(capsys)
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_missing_world_is_a_clear_error(monkeypatch, capsys, tmp_path):
    out = tmp_path / "f.parquet"
    assert run_cli(monkeypatch, "features", "--world", str(tmp_path / "nowhere"), "--as-of", "2023-06-30", "--out", str(out)) == 2
    assert "not a folder" in stderr(capsys)
    assert not out.exists()


def _drop_kind(t: pd.DataFrame) -> pd.DataFrame:
    return t.drop(columns=["kind"])


def _text_values(t: pd.DataFrame) -> pd.DataFrame:
    return t.assign(value=t["value"].astype(str))


def _future_date(t: pd.DataFrame) -> pd.DataFrame:
    return t.assign(date=t["date"].where(t.index != 0, pd.Timestamp("2031-01-01")))


def _duplicate_case(t: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([t, t.head(1)], ignore_index=True)


@pytest.mark.parametrize(("table", "breaks", "words"), [
    ("signals", _drop_kind, ["signals", "kind"]),
    ("signals", _text_values, ["signals", "value", "expected float"]),
    ("signals", _future_date, ["signals", "date", "future"]),
    ("cases", _duplicate_case, ["cases", "duplicate", "case_id"]),
])
def test_broken_world_names_table_and_column(monkeypatch, capsys, world_dir, tmp_path, table, breaks, words):
    broken = tmp_path / "broken"
    broken.mkdir()
    for file in world_dir.iterdir():
        (broken / file.name).write_bytes(file.read_bytes())
    breaks(pd.read_parquet(broken / f"{table}.parquet")).to_parquet(broken / f"{table}.parquet")
    out = tmp_path / "f.parquet"
    assert run_cli(monkeypatch, "features", "--world", str(broken), "--as-of", "2023-06-30", "--out", str(out)) == 2
    err = stderr(capsys)
    assert all(word in err for word in words), err
    assert not out.exists()


def test_investigation_of_an_unknown_case_is_a_contract_error(monkeypatch, capsys, world_dir, tmp_path):
    broken = tmp_path / "orphan"
    broken.mkdir()
    for file in world_dir.iterdir():
        (broken / file.name).write_bytes(file.read_bytes())
    inv = pd.read_parquet(broken / "investigations.parquet")
    inv.loc[0, "case_id"] = 99_999_999
    inv.to_parquet(broken / "investigations.parquet")
    out = tmp_path / "f.parquet"
    assert run_cli(monkeypatch, "features", "--world", str(broken), "--as-of", "2023-06-30", "--out", str(out)) == 2
    err = stderr(capsys)
    assert "investigations" in err and "case_id" in err and "99999999" not in err
    assert not out.exists()


def test_dask_engine_on_a_given_scheduler(monkeypatch, world_dir, tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        code = run_cli(monkeypatch, "features", "--world", str(world_dir), "--as-of", "2023-06-30", "--out",
                       str(tmp_path / "f.parquet"), "--engine", "dask", "--scheduler", cluster.scheduler_address)
    assert code == 0 and len(pd.read_parquet(tmp_path / "f.parquet")) > 0


def test_unreachable_scheduler_is_a_clear_error(monkeypatch, capsys, world_dir, tmp_path):
    code = run_cli(monkeypatch, "features", "--world", str(world_dir), "--as-of", "2023-06-30", "--out",
                   str(tmp_path / "f.parquet"), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2
    assert "cannot reach the Dask scheduler" in stderr(capsys)
    assert not (tmp_path / "f.parquet").exists()
