"""`riskrank serve` moves what startup loaded out of the garbage collector's reach (full collections walked it all:
pauses of 0.1-0.7 s, the tail at 8 connections); an app in a process that does other things leaves the collector
alone."""

from __future__ import annotations

import gc

from tests.fixtures.models import ModelRegistry
from tests.serving.conftest import fill_feature_store, make_settings


def test_only_the_serving_process_freezes_its_heap(tmp_path, shared_model_registry: ModelRegistry, serve_app) -> None:
    from riskrank.serving.app import create_app

    settings = make_settings(tmp_path, shared_model_registry)
    fill_feature_store(settings, shared_model_registry.frame.drop(columns=["label"]))
    gc.unfreeze()
    try:
        serve_app(create_app(settings))
        assert gc.get_freeze_count() == 0
        serve_app(create_app(settings, freeze_heap=True))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
