"""Test-wide setup. Shared fixtures live in tests/fixtures/, one module per concern, each owned by one part.

Every test runs hermetic: RISKRANK_* settings (and MLflow's own default) point into a temp folder for the whole
session, so no test reads or writes the working directory's riskrank.db, mlruns/ or data/ (e.g. the store a
`bash scripts/demo.sh` left behind), whatever the developer's environment holds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.worlds", "tests.fixtures.postgres", "tests.fixtures.models"]

TEST_PSEUDONYM_KEY = "tests-only-pseudonym-key"


def hermetic_environment(home: Path) -> dict[str, str]:
    """The RISKRANK_* values every test starts from: all state under `home`, a non-default pseudonym key."""
    return {
        "RISKRANK_HOME": str(home),
        "RISKRANK_DATABASE_URL": f"sqlite:///{home / 'riskrank.db'}",
        "RISKRANK_MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlruns' / 'mlflow.db'}",
        "RISKRANK_MLFLOW_ARTIFACT_ROOT": str(home / "mlruns" / "artifacts"),
        "RISKRANK_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlruns' / 'mlflow.db'}",
    }


@pytest.fixture(scope="session", autouse=True)
def hermetic_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("riskrank-home")
    patch = pytest.MonkeyPatch()
    for name in [n for n in os.environ if n.startswith("RISKRANK_")]:
        patch.delenv(name)  # the developer's own settings must not leak into tests
    for name, value in hermetic_environment(home).items():
        patch.setenv(name, value)
    yield home
    patch.undo()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """get_settings() is cached; a test that changes the environment must not leave its settings to the next."""
    from riskrank.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
