"""The worker's garbage-collector settings."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pipeline.worker.memory import THRESHOLDS, settle_long_lived_objects


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_loaded_objects_are_frozen_and_collections_made_rarer() -> None:
    kept = [[index] for index in range(1000)]  # stands for the reference data
    settle_long_lived_objects()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == THRESHOLDS
    assert THRESHOLDS[0] > 700  # the interpreter's default young threshold
