"""A Faust table on Faust's own RocksDB store in a temporary folder: the worker's table store
without a broker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import faust
import pytest
from faust.assignor.client_assignment import ClientAssignment

from pipeline.worker.table_store import PartitionedTableStore, disk_table

PARTITIONS = 4


@pytest.fixture
def table_store(tmp_path: Path) -> Callable[[str], PartitionedTableStore]:
    app = faust.App(
        "unit-tables",
        broker="kafka://127.0.0.1:1",
        store="rocksdb://",
        datadir=str(tmp_path / "state"),
    )

    return lambda name: disk_table(app, name, PARTITIONS)


def own_partitions(store: PartitionedTableStore, partitions: list[int]) -> None:
    """The worker was assigned ``partitions`` of the store's changelog as their active owner."""
    assignor = store._store.app.assignor
    assignor._assignment = ClientAssignment(actives={store.changelog: partitions}, standbys={})
