"""The worker's Faust parts without a broker: a table on Faust's own RocksDB store in a
temporary folder, and the worker's consumer, built and never started."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.assignor.client_assignment import ClientAssignment
from faust.types import TP

from pipeline.worker.table_store import PartitionedTableStore, disk_table
from pipeline.worker.transport import batching_transport

PARTITIONS = 4
TOPIC = "declarations"  # a topic the consumer batches
TP0 = TP(TOPIC, 0)


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


class BatchingApp(faust.App):
    def _new_transport(self) -> Any:
        return batching_transport(frozenset({TOPIC}))(self.conf.broker_consumer, self)


@pytest.fixture
def consumer(tmp_path: Path) -> Iterator[Any]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def made_on_this_loop() -> Any:
        # mode's services and events take the running loop; outside one, mode takes the first
        # loop its thread found, which may be another test's.
        app = BatchingApp("unit-consumer", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
        return app.consumer

    consumer = loop.run_until_complete(made_on_this_loop())
    yield consumer
    # Never started: close the loops Faust made for the consumer and its thread.
    consumer._thread.thread_loop.close()
    loop.close()
    asyncio.set_event_loop(None)
