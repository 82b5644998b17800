"""The examination join's entries in a Faust table, kept for a bounded number of days.

Each entry is one string: the day it was created (days since 1970 UTC, from the Kafka
timestamp of the record that created it) and the entry's own text, e.g.
``20419 HRCM SEIZURE HS-ARMS-93``. Changelog records go to the source record's partition,
produced by the worker's own producer with the batch (as for the version table), so that
they are acknowledged before the batch's offsets can be committed.

An entry older than the horizon is deleted, with a tombstone in the changelog: the
assessments topic keeps 30 days, so after that no redelivery can reach the entry, and memory
stays bounded by the declarations of the horizon.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiokafka.partitioner import murmur2  # type: ignore[import-untyped]

from pipeline import topics
from pipeline.feedback.join import JoinEntry
from pipeline.screening.batch import OutputRecord

_DAY_MS = 24 * 3600 * 1000
# One day beyond the assessments topic's retention.
HORIZON_DAYS = int(topics.spec(topics.ASSESSMENTS).config["retention.ms"]) // _DAY_MS + 1
# Entries looked at between two yields to the event loop while expiring.
_EXPIRY_CHUNK = 10_000


def day_of(timestamp_ms: int | None) -> int:
    if timestamp_ms is None or timestamp_ms <= 0:
        timestamp_ms = int(time.time() * 1000)
    return timestamp_ms // _DAY_MS


def expected_partition(key: bytes, partitions: int) -> int:
    """Where Kafka's default partitioner (murmur2, as Java clients and the pipeline's own
    producer use) puts ``key``."""
    return (int(murmur2(key)) & 0x7FFFFFFF) % partitions


class TableJoinStore:
    def __init__(self, table: Any, partitions: int) -> None:
        self._table = table
        self._partitions = partitions
        self._changelog = table.changelog_topic.get_topic_name()
        self._pending: list[OutputRecord] = []

    def get(self, key: str) -> JoinEntry | None:
        text = self._table.data.get(key)
        if text is None:
            return None
        _, _, entry = text.partition(" ")
        return JoinEntry.from_text(entry)

    def put(self, key: str, partition: int, entry: JoinEntry, timestamp_ms: int | None) -> None:
        held = self._table.data.get(key)
        day = _day(held) if held is not None else day_of(timestamp_ms)
        text = f"{day} {entry.to_text()}"
        self._table.data[key] = text
        # JSON keys and values, as Faust reads the changelog back on recovery.
        self._pending.append(
            OutputRecord(self._changelog, orjson.dumps(key), orjson.dumps(text), partition)
        )

    def drain(self) -> list[OutputRecord]:
        """The changelog records written since the last call, to be produced with a batch."""
        pending, self._pending = self._pending, []
        return pending

    async def expire(self, oldest_day: int) -> int:
        """Delete the entries created before ``oldest_day``; their tombstones go out with the
        next batch. Yields to the event loop every few thousand entries."""
        data = self._table.data
        keys = list(data.keys())
        expired = 0
        for start in range(0, len(keys), _EXPIRY_CHUNK):
            for key in keys[start : start + _EXPIRY_CHUNK]:
                text = data.get(key)
                if text is None or _day(text) >= oldest_day:
                    continue
                del data[key]
                declaration_id = key.rpartition("/")[0].encode()
                partition = expected_partition(declaration_id, self._partitions)
                self._pending.append(
                    OutputRecord(self._changelog, orjson.dumps(key), None, partition)
                )
                expired += 1
            await asyncio.sleep(0)
        return expired


def _day(text: str) -> int:
    return int(text.partition(" ")[0])
