"""The examination join's entries in a Faust table on disk, kept for a bounded number of days.

Each entry is one string: the day it was created (days since 1970 UTC, from the Kafka
timestamp of the record that created it) and the entry's own text, e.g.
``20419 HRCM SEIZURE HS-ARMS-93``. Entries live in the source record's partition of the table
(``table_store.PartitionedTableStore``); their changelog records are produced by the worker's
own producer with the batch (as for the version table), so that they are acknowledged before
the batch's offsets can be committed.

An entry older than the horizon is deleted, with a tombstone in the changelog: the
assessments topic keeps 30 days, so after that no redelivery can reach the entry, and the
table stays bounded by the declarations of the horizon.
"""

from __future__ import annotations

import asyncio
import time

import orjson

from pipeline import topics
from pipeline.feedback.join import JoinEntry
from pipeline.worker.table_store import PartitionedTableStore

_DAY_MS = 24 * 3600 * 1000
# One day beyond the assessments topic's retention.
HORIZON_DAYS = int(topics.spec(topics.ASSESSMENTS).config["retention.ms"]) // _DAY_MS + 1
# Entries looked at between two yields to the event loop while expiring.
_EXPIRY_CHUNK = 10_000


def day_of(timestamp_ms: int | None) -> int:
    if timestamp_ms is None or timestamp_ms <= 0:
        timestamp_ms = int(time.time() * 1000)
    return timestamp_ms // _DAY_MS


class TableJoinStore:
    def __init__(self, tables: PartitionedTableStore) -> None:
        self.tables = tables  # drained and persisted by the feedback handler

    def get(self, key: str, partition: int) -> JoinEntry | None:
        raw = self.tables.get(orjson.dumps(key), partition)
        if raw is None:
            return None
        _, _, entry = orjson.loads(raw).partition(" ")
        return JoinEntry.from_text(entry)

    def put(self, key: str, partition: int, entry: JoinEntry, timestamp_ms: int | None) -> None:
        stored_key = orjson.dumps(key)
        held = self.tables.get(stored_key, partition)
        day = _day(held) if held is not None else day_of(timestamp_ms)
        # JSON keys and values, as Faust reads the changelog back on recovery.
        self.tables.put(stored_key, partition, orjson.dumps(f"{day} {entry.to_text()}"))

    async def expire(self, oldest_day: int) -> int:
        """Delete the entries of the partitions this worker owns that were created before
        ``oldest_day``; the deletions and their tombstones go out with the next batch. Yields
        to the event loop every few thousand entries."""
        expired = 0
        for partition in self.tables.active_partitions():
            for looked_at, (key, stored) in enumerate(self.tables.items(partition), 1):
                if _day(stored) < oldest_day:
                    # A batch may have written the entry again since it was stored.
                    current = self.tables.get(key, partition)
                    if current is not None and _day(current) < oldest_day:
                        self.tables.put(key, partition, None)
                        expired += 1
                if looked_at % _EXPIRY_CHUNK == 0:
                    await asyncio.sleep(0)
                    if partition not in self.tables.active_partitions():
                        break  # handed to another worker meanwhile: its owner expires it
        return expired


def _day(stored: bytes) -> int:
    """The day of a stored entry: a JSON string that starts with the day, ``"20419 ..."``."""
    return int(stored[1 : stored.index(b" ")])
