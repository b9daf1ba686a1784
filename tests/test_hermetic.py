"""Tests never touch the working directory's stores: settings resolve into the session's temp home."""

from __future__ import annotations

from pathlib import Path

from riskrank.settings import Settings, get_settings


def _path_of(sqlite_url: str) -> Path:
    return Path(sqlite_url.removeprefix("sqlite:///")).resolve()


def test_default_settings_point_into_the_temp_home_not_the_working_directory(hermetic_home: Path) -> None:
    for settings in (get_settings(), Settings()):
        for url in (settings.database_url, settings.mlflow_tracking_uri):
            path = _path_of(url)
            assert path.is_relative_to(hermetic_home.resolve()), url
            assert not path.is_relative_to(Path.cwd().resolve())
        assert settings.pseudonym_key != "change-me-in-production"


def test_a_test_changing_the_environment_does_not_leak_its_settings(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RISKRANK_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    assert get_settings().database_url.endswith("other.db")


def test_settings_are_fresh_again_after_the_test_above(hermetic_home: Path) -> None:
    assert _path_of(get_settings().database_url).is_relative_to(hermetic_home.resolve())
