"""The worker's output producer against the broker: a flush returns once every record is
acknowledged, with the changelog offsets Kafka gave them, serves the delivery reports on the
event loop's thread, and fails on a refused record."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from typing import Any

import pytest

from pipeline.errors import DeliveryFailed
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.producer import OutputProducer
from pipeline.records import OutputRecord
from pipeline.settings import Settings
from pipeline.topics import TopicSpec


def test_a_flush_returns_once_every_record_is_acknowledged_with_its_offsets(
    settings: Settings,
) -> None:
    changelog, outputs = (f"test-producer-{uuid.uuid4().hex[:8]}-{n}" for n in ("log", "out"))
    ensure_topics(settings, (TopicSpec(changelog, "key", {}), TopicSpec(outputs, "key", {})))
    producer = OutputProducer(settings.kafka, offsets_of=frozenset({changelog}))

    async def two_batches() -> list[dict[int, int]]:
        delivered = []
        for batch in range(2):
            producer.produce(OutputRecord(outputs, f"D-{n}".encode(), b"{}") for n in range(500))
            producer.produce(
                OutputRecord(changelog, f"K-{n}".encode(), b"v", partition=n % 2)
                for n in range(10 * (batch + 1))
            )
            await producer.flush()
            assert len(producer._producer) == 0  # nothing queued, in flight or unreported
            delivered.append(producer.delivered_offsets(changelog))
        return delivered

    try:
        first, second = asyncio.run(two_batches())
    finally:
        producer.close()
    # Offsets per partition: 5 records each in the first batch, 10 more in the second.
    assert first == {0: 4, 1: 4}
    assert second == {0: 14, 1: 14}


def test_delivery_reports_are_served_on_the_event_loops_thread(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Served in another thread, every report would take the GIL from the event loop while it
    screens the next batch."""
    changelog = f"test-producer-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, (TopicSpec(changelog, "key", {}),))
    served_on: set[int] = set()
    on_delivery = OutputProducer._on_delivery

    def noting_the_thread(self: OutputProducer, error: Any, message: Any) -> None:
        served_on.add(threading.get_ident())
        on_delivery(self, error, message)

    monkeypatch.setattr(OutputProducer, "_on_delivery", noting_the_thread)
    producer = OutputProducer(settings.kafka, offsets_of=frozenset({changelog}))

    async def produce_and_flush() -> int:
        producer.produce(OutputRecord(changelog, f"K-{n}".encode(), b"v") for n in range(200))
        await producer.flush()
        return threading.get_ident()

    try:
        loop_thread = asyncio.run(produce_and_flush())
    finally:
        producer.close()
    assert served_on == {loop_thread}
    assert producer.delivered_offsets(changelog)  # the reports were served, and counted


def test_a_record_the_broker_refuses_fails_the_flush(settings: Settings) -> None:
    topic = f"test-producer-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, (TopicSpec(topic, "key", {"max.message.bytes": "2048"}),))
    producer = OutputProducer(settings.kafka)
    # Random bytes: compressed, they are still too large for the topic.
    producer.produce([OutputRecord(topic, b"k", os.urandom(100_000))])
    try:
        with pytest.raises(DeliveryFailed, match="outputs not delivered"):
            asyncio.run(producer.flush())
    finally:
        producer.close()
