"""mlflow.pyfunc.spark_udf scores a Spark DataFrame with the registered champion (local pyspark, Java 17)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from riskrank.model.registry import load_model
from tests.fixtures.models import FIXTURE_FEATURES, ModelRegistry


@pytest.mark.slow
def test_spark_udf_scores_like_scoring_model(shared_model_registry: ModelRegistry) -> None:
    import mlflow
    from pyspark.sql import SparkSession
    from pyspark.sql.functions import struct

    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers run this environment, where riskrank is installed
    registry = shared_model_registry
    mlflow.set_tracking_uri(registry.tracking_uri)
    mlflow.set_registry_uri(registry.tracking_uri)
    frame = registry.frame.head(300)
    spark = (SparkSession.builder.master("local[1]").appName("riskrank-spark-udf")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1").getOrCreate())
    try:
        inputs = frame[["case_id", *FIXTURE_FEATURES]].astype({"benefit": "object", "emigration_registered": "bool"})
        spark_frame = spark.createDataFrame(inputs)
        udf = mlflow.pyfunc.spark_udf(spark, f"models:/{registry.model_name}@champion", result_type="double",
                                      env_manager="local")
        scored = spark_frame.withColumn("score", udf(struct(*FIXTURE_FEATURES))).select("case_id", "score").toPandas()
    finally:
        spark.stop()
    champion = load_model(alias="champion", tracking_uri=registry.tracking_uri, model_name=registry.model_name)
    expected = dict(zip(frame["case_id"].tolist(), champion.predict(frame).tolist(), strict=True))
    np.testing.assert_allclose(scored["score"].to_numpy(), scored["case_id"].map(expected).to_numpy(), rtol=1e-12, atol=0)
