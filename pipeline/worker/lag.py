"""Consumer lag of this worker's partitions, in declarations and in seconds.

Lag in messages is the partition's high watermark minus the next offset to screen. Lag in
seconds is the age of the oldest declaration not screened yet, estimated the way
kafka-lag-exporter does: the high watermark is sampled over time, and the moment it passed the
next offset to screen is interpolated from those samples. It needs no extra fetch, and it keeps
growing while a worker is stalled, which is what the alerts look for.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition

from pipeline import metrics
from pipeline.records import InputRecord
from pipeline.settings import Settings

log = logging.getLogger(__name__)

# Ten minutes of samples at the worker's five-second interval: older backlogs are reported
# as at least that old.
HISTORY_SAMPLES = 120


class HighWaterHistory:
    """(high watermark, time) samples of one partition, oldest first."""

    def __init__(self, limit: int = HISTORY_SAMPLES) -> None:
        self._samples: deque[tuple[int, float]] = deque(maxlen=limit)

    def record(self, high_water: int, at: float) -> None:
        if self._samples and high_water < self._samples[-1][0]:
            self._samples.clear()  # the partition was truncated or recreated
        self._samples.append((high_water, at))

    def age(self, next_offset: int, now: float) -> float:
        """Seconds since the record at ``next_offset`` was written (0 if it is not yet)."""
        samples = list(self._samples)
        offsets = [offset for offset, _ in samples]
        # The first sample whose high watermark is past the offset: the record existed then.
        i = bisect.bisect_right(offsets, next_offset)
        if i == len(samples):
            return 0.0
        if i == 0:
            return now - samples[0][1]  # older than the history: at least this old
        (before, t_before), (after, t_after) = samples[i - 1], samples[i]
        share = (next_offset - before) / (after - before)
        return max(0.0, now - (t_before + share * (t_after - t_before)))


@dataclass(frozen=True, slots=True)
class PartitionLag:
    partition: int
    messages: int
    seconds: float


class LagMonitor:
    def __init__(self, settings: Settings, topic: str) -> None:
        self._topic = topic
        self._timeout_s = 10.0
        # Never subscribes: it reads watermarks, and the group's committed offsets for
        # partitions this worker has not screened anything from yet.
        config = settings.kafka.librdkafka_config()
        self._consumer = Consumer(
            {**config, "group.id": settings.topics.app_id, "enable.auto.commit": False}
        )
        self._next_offsets: dict[int, int] = {}
        self._history: dict[int, HighWaterHistory] = {}
        self._reported: set[int] = set()

    def screened(self, records: Sequence[InputRecord]) -> None:
        """Called after a batch's outputs are acknowledged."""
        next_offsets = self._next_offsets
        for record in records:
            if record.offset >= next_offsets.get(record.partition, 0):
                next_offsets[record.partition] = record.offset + 1

    def measure(self, partitions: Iterable[int], now: float | None = None) -> list[PartitionLag]:
        """Lag of the given partitions (those assigned now). Blocking: run it in a thread."""
        now = time.time() if now is None else now
        assigned = set(partitions)
        for gone in set(self._next_offsets) - assigned:
            del self._next_offsets[gone]  # another worker moves it on meanwhile
        marks = {
            p: self._consumer.get_watermark_offsets(
                TopicPartition(self._topic, p), timeout=self._timeout_s
            )
            for p in sorted(assigned)
        }
        next_offsets = self._committed(p for p in marks if p not in self._next_offsets)
        next_offsets.update((p, o) for p, o in self._next_offsets.items() if p in marks)
        lags = []
        for partition, (low, high) in marks.items():
            history = self._history.setdefault(partition, HighWaterHistory())
            history.record(high, now)
            next_offset = max(low, next_offsets[partition])
            messages = max(0, high - next_offset)
            seconds = history.age(next_offset, now) if messages else 0.0
            lags.append(PartitionLag(partition, messages, seconds))
        return lags

    def _committed(self, partitions: Iterable[int]) -> dict[int, int]:
        """The group's committed offsets, in one request; a negative offset (below any low
        watermark) where nothing is committed yet."""
        wanted = [TopicPartition(self._topic, p) for p in partitions]
        if not wanted:
            return {}
        return {
            tp.partition: tp.offset
            for tp in self._consumer.committed(wanted, timeout=self._timeout_s)
        }

    def update_metrics(self, partitions: Iterable[int]) -> list[PartitionLag] | None:
        """Measure and export; the lags measured, or None if Kafka did not answer."""
        try:
            lags = self.measure(partitions)
        except KafkaException as exc:
            log.warning("consumer lag not measured: %s", exc)
            return None
        current = {lag.partition for lag in lags}
        for gone in self._reported - current:
            metrics.CONSUMER_LAG_MESSAGES.remove(str(gone))
            metrics.CONSUMER_LAG_SECONDS.remove(str(gone))
        for lag in lags:
            metrics.CONSUMER_LAG_MESSAGES.labels(str(lag.partition)).set(lag.messages)
            metrics.CONSUMER_LAG_SECONDS.labels(str(lag.partition)).set(lag.seconds)
        self._reported = current
        return lags

    def close(self) -> None:
        self._consumer.close()
