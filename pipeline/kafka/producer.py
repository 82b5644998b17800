"""The worker's output producer: idempotent, batched, and flushed before offsets move on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from pipeline.errors import DeliveryFailed
from pipeline.records import OutputRecord
from pipeline.settings import KafkaSettings

__all__ = ["OutputProducer", "produce_waiting", "producer_config"]

_FLUSH_TIMEOUT_S = 60.0
# A flush looks for delivery reports after 1 ms, then less often, at least every 5 ms: a look
# costs the event loop about 20 µs, and a report found late delays the batch's commit.
_FIRST_PAUSE_S = 0.001
_LONGEST_PAUSE_S = 0.005


def producer_config(kafka: KafkaSettings) -> dict[str, Any]:
    return {
        **kafka.librdkafka_config(),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "compression.type": "lz4",
        # Java's partitioner: keys land where Kafka Streams, Faust and Java clients expect.
        "partitioner": "murmur2_random",
        # Rejections carry the original bytes; leave room for the largest accepted input.
        "message.max.bytes": 8 * 1024 * 1024,
        "queue.buffering.max.messages": 1_000_000,
    }


def produce_waiting(
    producer: Producer,
    topic: str,
    value: bytes | None,
    key: bytes | None,
    partition: int | None = None,
) -> None:
    """Produce one record; when the local queue is full, serve delivery reports and retry."""
    while True:
        try:
            if partition is None:
                producer.produce(topic, value, key)
            else:
                producer.produce(topic, value, key, partition=partition)
            return
        except BufferError:
            producer.poll(0.05)


class OutputProducer:
    """Produces a batch's outputs; ``flush`` returns only when every one is acknowledged.

    For the topics in ``offsets_of`` (the tables' changelogs) it keeps the highest offset
    acknowledged per partition, which ``delivered_offsets`` hands over after a flush. The
    worker's batch loops share one, on one event loop: a flush in one loop may serve the
    delivery reports of another's records."""

    def __init__(self, kafka: KafkaSettings, offsets_of: frozenset[str] = frozenset()) -> None:
        self._failures: list[str] = []
        self._offsets_of = offsets_of
        self._offsets: dict[tuple[str, int], int] = {}
        self._producer = Producer(
            {
                **producer_config(kafka),
                # Without offsets to keep, only failures call back, so a delivered record
                # costs no Python call.
                "delivery.report.only.error": not offsets_of,
                "on_delivery": self._on_delivery,
            }
        )

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._failures.append(f"{message.topic()}: {error.str()}")
            return
        topic = message.topic()
        if topic not in self._offsets_of:
            return  # an output: only its failure matters
        partition, offset = message.partition(), message.offset()
        if partition is not None and offset is not None:
            where = (topic, partition)
            if offset > self._offsets.get(where, -1):
                self._offsets[where] = offset

    def delivered_offsets(self, topic: str) -> dict[int, int]:
        """The highest offset acknowledged per partition of ``topic`` since the last call."""
        taken = {p: o for (t, p), o in self._offsets.items() if t == topic}
        for partition in taken:
            del self._offsets[(topic, partition)]
        return taken

    def produce(self, records: Iterable[OutputRecord]) -> None:
        for record in records:
            produce_waiting(
                self._producer, record.topic, record.value, record.key, record.partition
            )

    async def flush(self) -> None:
        """Waits on the event loop, serving the delivery reports on its thread. A flush in
        another thread calls back into Python for every record while the event loop screens
        the next batch, and each call takes the GIL from it: at a steady rate that cost the
        worker more than the reports themselves."""
        deadline = time.monotonic() + _FLUSH_TIMEOUT_S
        pause_s = _FIRST_PAUSE_S
        # A flush without waiting: what lingers is sent now, and what is reported is served.
        self._producer.flush(0)
        while (remaining := len(self._producer)) and time.monotonic() < deadline:
            await asyncio.sleep(pause_s)
            pause_s = min(1.5 * pause_s, _LONGEST_PAUSE_S)
            self._producer.poll(0)
        if self._failures or remaining:
            failures, self._failures = self._failures, []
            detail = "; ".join(failures[:3]) or f"{remaining} records not acknowledged"
            raise DeliveryFailed(f"outputs not delivered: {detail}")

    def close(self) -> None:
        self._producer.flush(_FLUSH_TIMEOUT_S)
