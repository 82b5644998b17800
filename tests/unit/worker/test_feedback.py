"""The feedback agent's batch handling, and its join table on Faust's RocksDB store, with a fake
producer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson
import pytest

from pipeline import topics
from pipeline.feedback.join import JoinEntry
from pipeline.kafka.partitioning import expected_partition
from pipeline.records import InputRecord, OutputRecord
from pipeline.worker.checkpoint import Checkpoint
from pipeline.worker.feedback import FeedbackHandler
from pipeline.worker.join_table import HORIZON_DAYS, TableJoinStore, day_of
from pipeline.worker.table_store import PartitionedTableStore
from tests.unit.worker.conftest import PARTITIONS, own_partitions

Make = Callable[[str], PartitionedTableStore]

DAY_MS = 24 * 3600 * 1000
TODAY = 20_419  # 2025-11-27


@dataclass
class FakeProducer:
    produced: list[OutputRecord] = field(default_factory=list)
    flushes: int = 0

    def produce(self, records: Iterable[OutputRecord]) -> None:
        self.produced.extend(records)

    async def flush(self) -> None:
        self.flushes += 1

    def delivered_offsets(self, topic: str) -> dict[int, int]:
        return {}


def examination(
    declaration_id: str, partition: int | None = None, timestamp_ms: int = TODAY * DAY_MS
) -> InputRecord:
    key = declaration_id.encode()
    value = orjson.dumps(
        {
            "declaration_id": declaration_id,
            "version": 1,
            "result": "SEIZURE",
            "examined_at": "2026-11-21T10:00:00Z",
        }
    )
    if partition is None:
        partition = expected_partition(key, PARTITIONS)
    return InputRecord(topics.EXAMINATION_RESULTS, key, value, partition, 0, timestamp_ms)


def stored(tables: PartitionedTableStore, partition: int) -> dict[str, str]:
    return {orjson.loads(k): orjson.loads(v) for k, v in tables.items(partition)}


def test_entries_live_in_the_table_as_text_and_go_to_the_changelog_partition(
    table_store: Make,
) -> None:
    tables = table_store("join")
    store = TableJoinStore(tables)
    entry = JoinEntry("HRCM", "SEIZURE", ("HS-ARMS-93",))
    store.put("D-1/2", 3, entry, TODAY * DAY_MS + 5)
    assert store.get("D-1/2", 3) == entry
    assert store.get("D-1/3", 3) is None
    (record,) = tables.drain()
    assert record == OutputRecord(
        tables.changelog, b'"D-1/2"', f'"{TODAY} HRCM SEIZURE HS-ARMS-93"'.encode(), 3
    )
    assert stored(tables, 3) == {"D-1/2": f"{TODAY} HRCM SEIZURE HS-ARMS-93"}
    assert store.get("D-1/2", 3) == entry
    assert tables.drain() == []


def test_an_entry_keeps_the_day_it_was_created(table_store: Make) -> None:
    tables = table_store("join")
    store = TableJoinStore(tables)
    store.put("D-1/1", 0, JoinEntry("PENDING", "SEIZURE"), (TODAY - 3) * DAY_MS)
    tables.drain()
    store.put("D-1/1", 0, JoinEntry("RFI", "SEIZURE", ("R",)), TODAY * DAY_MS)
    tables.drain()
    assert stored(tables, 0) == {"D-1/1": f"{TODAY - 3} RFI SEIZURE R"}


def test_entries_older_than_the_horizon_expire_with_a_tombstone(table_store: Make) -> None:
    tables = table_store("join")
    store = TableJoinStore(tables)
    oldest = TODAY - HORIZON_DAYS
    store.put("OLD/1", 1, JoinEntry("CLEAR"), (oldest - 1) * DAY_MS)
    store.put("EDGE/1", 2, JoinEntry("CLEAR"), oldest * DAY_MS)
    store.put("NEW/2", 3, JoinEntry("PENDING", "NO_FINDING"), TODAY * DAY_MS)
    store.put("STANDBY/1", 0, JoinEntry("CLEAR"), (oldest - 1) * DAY_MS)
    tables.drain()
    # Partition 0 is kept here as another worker's standby: its owner expires it.
    own_partitions(tables, [1, 2, 3])
    assert asyncio.run(store.expire(oldest)) == 1
    (tombstone,) = tables.drain()
    assert tombstone == OutputRecord(tables.changelog, b'"OLD/1"', None, 1)
    assert stored(tables, 1) == {}
    assert list(stored(tables, 2)) == ["EDGE/1"]
    assert list(stored(tables, 0)) == ["STANDBY/1"]
    assert asyncio.run(store.expire(oldest)) == 0


def test_a_record_without_a_timestamp_is_dated_today() -> None:
    assert day_of(None) == day_of(-1) > TODAY
    assert HORIZON_DAYS == 31


def test_a_batch_is_joined_and_its_changelog_flushed(table_store: Make) -> None:
    tables, producer = table_store("join"), FakeProducer()
    handler = FeedbackHandler(TableJoinStore(tables), PARTITIONS)
    record = examination("D-1")
    handled = asyncio.run(handler.handle([record]))
    assert handled.outputs == ()
    asyncio.run(Checkpoint(producer, [tables]).commit(handled.outputs, []))
    assert stored(tables, record.partition) == {"D-1/1": f"{TODAY} PENDING SEIZURE"}
    assert [r.partition for r in producer.produced] == [record.partition]
    assert producer.flushes == 1


def test_a_result_outside_its_keys_partition_is_not_joined(
    caplog: pytest.LogCaptureFixture, table_store: Make
) -> None:
    tables = table_store("join")
    handler = FeedbackHandler(TableJoinStore(tables), PARTITIONS)
    right = expected_partition(b"D-2", PARTITIONS)
    asyncio.run(handler.handle([examination("D-2", (right + 1) % PARTITIONS)]))
    assert tables.drain() == []
    assert f"examination result for D-2 at {topics.EXAMINATION_RESULTS}" in caplog.text
    assert f"belongs in partition {right}" in caplog.text


def test_keys_spread_over_every_partition() -> None:
    placed = {expected_partition(f"D-{n}".encode(), PARTITIONS) for n in range(100)}
    assert placed == set(range(PARTITIONS))
