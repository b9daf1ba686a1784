"""The operation tests use the training tests' temporary MLflow and operational stores."""

from tests.training.conftest import mlflow_env  # noqa: F401
