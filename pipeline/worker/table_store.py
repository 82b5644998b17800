"""A Faust table kept on disk in RocksDB, read and written by partition a batch at a time.

The worker's tables hold a small record per declaration (version) for weeks: in memory they
would grow the worker by hundreds of bytes per declaration, and a restart or a rebalance would
read their whole changelog again. Faust's RocksDB store keeps each changelog partition in its
own database on disk and remembers the changelog offset it holds, so recovery reads only what
was written since.

Faust's own table writes take the partition of the event being processed, which for a batch
spanning partitions is the wrong one, and send one changelog record per write. Here each read
and write names the source record's partition; a batch's writes are held until the batch is
done, then written to the partitions' databases in one write each, and turned into changelog
records (the last value of each key) that the worker produces with the batch's outputs. Once
Kafka has acknowledged them, ``persisted`` records their offsets in the databases, as Faust's
recovery does for what it reads. The order of those steps is the checkpoint's
(``checkpoint.Checkpoint``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from faust.types import TP
from rocksdict import WriteBatch

from pipeline.records import OutputRecord
from pipeline.worker.faust_adapter import StoreInternals

# Per partition database, a few of which a worker holds for each of its two tables. Faust's
# defaults (64 MiB write buffers, a 2 GiB block cache each) are sized for one large table.
ROCKSDB_OPTIONS: Mapping[str, Any] = {
    "driver": "rocksdict",
    "write_buffer_size": 2 * 1024 * 1024,
    "max_write_buffer_number": 2,
    "target_file_size_base": 16 * 1024 * 1024,
    "block_cache_size": 4 * 1024 * 1024,
    "bloom_filter_size": 10,
}


def disk_table(app: Any, name: str, partitions: int) -> PartitionedTableStore:
    """A table of ``app`` with JSON keys and values (Faust's serialisers without a model),
    stored in RocksDB."""
    table = app.Table(
        name,
        default=None,
        partitions=partitions,
        key_type=str,
        options=dict(ROCKSDB_OPTIONS),  # Faust's store takes keys out of the mapping it gets
    )
    return PartitionedTableStore(table)


class PartitionedTableStore:
    def __init__(self, table: Any) -> None:
        self._store = StoreInternals(table)
        self._changelog: str = table.changelog_topic.get_topic_name()
        self._writes: defaultdict[int, dict[bytes, bytes | None]] = defaultdict(dict)

    @property
    def changelog(self) -> str:
        return self._changelog

    def get(self, key: bytes, partition: int) -> bytes | None:
        """The value of ``key`` in ``partition``, including this batch's writes."""
        writes = self._writes.get(partition)
        if writes is not None and key in writes:
            return writes[key]
        value: bytes | None = self._database(partition).get(key)
        return value

    def put(self, key: bytes, partition: int, value: bytes | None) -> None:
        """Set ``key`` (``None`` deletes it) when the batch is drained."""
        self._writes[partition][key] = value

    def drain(self) -> list[OutputRecord]:
        """Writes the held values to the partitions' databases and returns their changelog
        records, to be produced with the batch."""
        records: list[OutputRecord] = []
        for partition, writes in self._writes.items():
            batch = WriteBatch(raw_mode=True)
            for key, value in writes.items():
                if value is None:
                    batch.delete(key)
                else:
                    batch.put(key, value)
                records.append(OutputRecord(self._changelog, key, value, partition))
            self._database(partition).write(batch)
        self._writes.clear()
        return records

    def persisted(self, offsets: Mapping[int, int]) -> None:
        """The changelog holds this worker's writes up to these offsets, per partition."""
        for partition, offset in offsets.items():
            self._store.set_persisted_offset(TP(self._changelog, partition), offset)

    def active_partitions(self) -> list[int]:
        """The partitions this worker owns (not those it keeps as a standby)."""
        return self._store.active_partitions(self._changelog)

    def items(self, partition: int) -> Iterator[tuple[bytes, bytes]]:
        """Every key and value stored in ``partition``."""
        offset_key = self._store.offset_key
        for key, value in self._database(partition).items():
            if key != offset_key:
                yield key, value

    def _database(self, partition: int) -> Any:
        return self._store.database(partition)
