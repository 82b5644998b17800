"""The table store over Faust's RocksDB store: reads and writes by partition, a batch's writes
held until drained, and the changelog offsets recorded where Faust's recovery looks."""

from __future__ import annotations

from collections.abc import Callable

from faust.types import TP

from pipeline.records import OutputRecord
from pipeline.worker.table_store import PartitionedTableStore
from tests.unit.worker.conftest import own_partitions

Make = Callable[[str], PartitionedTableStore]


def test_a_batch_reads_its_own_writes_before_they_are_stored(table_store: Make) -> None:
    store = table_store("versions")
    store.put(b'"D-1"', 2, b"1")
    assert store.get(b'"D-1"', 2) == b"1"
    # Another partition's database does not hold it, in the batch or on disk.
    assert store.get(b'"D-1"', 3) is None
    assert store._store.database(2).get(b'"D-1"') is None


def test_draining_stores_the_last_value_of_each_key_and_gives_its_changelog_record(
    table_store: Make,
) -> None:
    store = table_store("versions")
    store.put(b'"D-1"', 2, b"1")
    store.put(b'"D-1"', 2, b"2")
    store.put(b'"D-2"', 0, b"9")
    records = store.drain()
    changelog = store.changelog
    assert sorted(records, key=lambda r: r.key or b"") == [
        OutputRecord(changelog, b'"D-1"', b"2", 2),
        OutputRecord(changelog, b'"D-2"', b"9", 0),
    ]
    assert store.drain() == []
    assert store.get(b'"D-1"', 2) == b"2"
    # Faust's own store reads what was written, as its recovery and standbys write it.
    assert store._store.database(2).get(b'"D-1"') == b"2"


def test_a_deletion_removes_the_key_and_sends_a_tombstone(table_store: Make) -> None:
    store = table_store("versions")
    store.put(b'"D-1"', 1, b"1")
    store.drain()
    store.put(b'"D-1"', 1, None)
    assert store.get(b'"D-1"', 1) is None
    assert store.drain() == [OutputRecord(store.changelog, b'"D-1"', None, 1)]
    assert store.get(b'"D-1"', 1) is None


def test_persisted_offsets_are_where_faust_recovery_resumes(table_store: Make) -> None:
    store = table_store("versions")
    assert store._store.persisted_offset(TP(store.changelog, 3)) is None
    store.persisted({3: 41, 0: 7})
    assert store._store.persisted_offset(TP(store.changelog, 3)) == 41
    assert store._store.persisted_offset(TP(store.changelog, 0)) == 7


def test_items_leave_out_the_offset_faust_keeps(table_store: Make) -> None:
    store = table_store("versions")
    store.put(b'"D-1"', 1, b"1")
    store.put(b'"D-2"', 1, b"2")
    store.drain()
    store.persisted({1: 5})
    assert sorted(store.items(1)) == [(b'"D-1"', b"1"), (b'"D-2"', b"2")]


def test_active_partitions_are_the_owned_ones_of_this_changelog(table_store: Make) -> None:
    store = table_store("versions")
    assert store.active_partitions() == []
    own_partitions(store, [3, 1])
    assert store.active_partitions() == [1, 3]
