"""The archiver: a consumer group of its own that writes what it reads to the archive.

At least once, without duplicates left behind: offsets are committed only after the files
holding the records before them are durable (writer.py). A crash between the two makes the
group read the batch again from the committed offset, and the file of each partition's first
records gets the same name and is replaced. Should a batch be cut elsewhere the second time,
a record may be stored twice in one day until the day is compacted; readers and compaction
keep each (topic, partition, offset) once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import (
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from pipeline.archive import metrics
from pipeline.archive.records import ArchiveRecord
from pipeline.archive.sources import ARCHIVE_GROUP, subscription
from pipeline.archive.writer import write_batch
from pipeline.errors import KafkaUnavailable
from pipeline.settings import KafkaSettings

__all__ = ["DEFAULT_GROUP", "Archiver", "consumer_config"]

log = logging.getLogger(__name__)

DEFAULT_GROUP = ARCHIVE_GROUP
_POLL_S = 1.0
_MAX_POLL_RECORDS = 1000


@dataclass
class Totals:
    records: int = 0
    files: int = 0
    batches: int = 0


def consumer_config(kafka: KafkaSettings, group: str) -> dict[str, Any]:
    return {
        **kafka.librdkafka_config(),
        "group.id": group,
        # Offsets are committed by hand, after the files are durable.
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        # Partners' topics appear when MirrorMaker 2 first replicates them: look every minute.
        "topic.metadata.refresh.interval.ms": 60_000,
    }


class Archiver:
    def __init__(
        self,
        root: Path,
        consumer: Consumer,
        flush_records: int = 10_000,
        flush_seconds: float = 60.0,
        topics: Sequence[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self.flush_records = flush_records
        self.flush_seconds = flush_seconds
        self.totals = Totals()
        self._consumer = consumer
        self._topics = list(topics) if topics is not None else subscription()
        self._clock = clock
        self._pending: list[ArchiveRecord] = []
        self._oldest: float | None = None
        self._missing_reported: set[str] = set()

    @classmethod
    def connect(
        cls, kafka: KafkaSettings, root: Path, group: str = DEFAULT_GROUP, **options: Any
    ) -> Archiver:
        return cls(root, Consumer(consumer_config(kafka, group)), **options)

    def run(self, stop: threading.Event) -> Totals:
        """Archive until ``stop`` is set, then write and commit what is pending and leave
        the group."""
        self._consumer.subscribe(self._topics, on_revoke=self._on_revoke)
        try:
            while not stop.is_set():
                self.poll_once()
            self.flush()
        finally:
            self._consumer.close()
        return self.totals

    def poll_once(self) -> None:
        wanted = min(_MAX_POLL_RECORDS, max(1, self.flush_records - len(self._pending)))
        for message in self._consumer.consume(wanted, self._wait()):
            self._take(message)
        if self._due():
            self.flush()

    def flush(self) -> None:
        """Write the pending records, then commit the offsets after them."""
        if not self._pending:
            return
        batch, self._pending, self._oldest = self._pending, [], None
        files = write_batch(self.root, batch, datetime.now(UTC).date())
        for topic, count in Counter(record.topic for record in batch).items():
            metrics.RECORDS.labels(topic).inc(count)
        metrics.FILES.inc(len(files))
        metrics.BYTES.inc(sum(path.stat().st_size for path in files))
        following: dict[tuple[str, int], int] = {}
        for record in batch:
            place = (record.topic, record.partition)
            following[place] = max(following.get(place, 0), record.offset + 1)
        offsets = [TopicPartition(t, p, o) for (t, p), o in sorted(following.items())]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # Not lost: the group reads these again and the same files are written again.
            metrics.COMMIT_FAILURES.inc()
            log.warning("archived batch not committed, it will be read again: %s", exc.args[0])
        else:
            # What ScreeningArchiveStalled watches: the archive is durable up to here.
            metrics.LAST_COMMIT.set_to_current_time()
        self.totals.records += len(batch)
        self.totals.files += len(files)
        self.totals.batches += 1
        log.info("archived %d records in %d files", len(batch), len(files))

    def _take(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            self._on_error(error, message.topic())
            return
        topic = message.topic()
        partition, offset = message.partition(), message.offset()
        if topic is None or partition is None or offset is None:
            return
        kind, stamp = message.timestamp()
        self._pending.append(
            ArchiveRecord(
                topic,
                partition,
                offset,
                message.key(),
                message.value(),
                stamp if kind != TIMESTAMP_NOT_AVAILABLE and stamp >= 0 else None,
            )
        )
        if self._oldest is None:
            self._oldest = self._clock()

    def _on_error(self, error: KafkaError, topic: str | None) -> None:
        if error.code() == KafkaError._PARTITION_EOF:
            return
        if error.fatal():
            raise KafkaUnavailable(f"archiving stopped: {error.str()}")
        if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            # A topic not created yet: archived from its start once it exists.
            name = topic or "?"
            if name not in self._missing_reported:
                self._missing_reported.add(name)
                log.warning("topic %s does not exist yet", name)
            return
        log.warning("reading for the archive: %s", error.str())

    def _on_revoke(self, _consumer: object, _partitions: list[TopicPartition]) -> None:
        # Commit while the partitions are still ours; the next owner starts after them.
        self.flush()

    def _wait(self) -> float:
        if self._oldest is None:
            return _POLL_S
        left = self.flush_seconds - (self._clock() - self._oldest)
        return max(0.0, min(_POLL_S, left))

    def _due(self) -> bool:
        if len(self._pending) >= self.flush_records:
            return True
        return self._oldest is not None and self._clock() - self._oldest >= self.flush_seconds
