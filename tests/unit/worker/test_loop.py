"""The batch loop's step: records to the handler, its outputs through the checkpoint, the
report once stored; a failure stops the worker with nothing handled."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from faust.types import TP

from pipeline.records import InputRecord, OutputRecord
from pipeline.worker import all_or_nothing
from pipeline.worker.checkpoint import Checkpoint
from pipeline.worker.faust_adapter import BatchMessage, batch_message
from pipeline.worker.loop import Handled, handle_batch, records_of


@dataclass
class KafkaRecord:
    """The fields of aiokafka's ConsumerRecord that the worker reads."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int = 1_700_000_000_000
    timestamp_type: int = 0


def fetched(topic: str, partition: int, offsets: range) -> BatchMessage:
    records = [KafkaRecord(topic, partition, o, f"D-{o}".encode(), b"{}") for o in offsets]
    return batch_message(TP(topic, partition), records, generation_id=1, epoch=0)


@dataclass
class Producer:
    produced: list[OutputRecord] = field(default_factory=list)

    def produce(self, records: Iterable[OutputRecord]) -> None:
        self.produced.extend(records)

    async def flush(self) -> None:
        return None

    def delivered_offsets(self, topic: str) -> dict[int, int]:
        return {}


class Echo:
    what = "echoing a batch"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.reports: list[float] = []

    async def handle(self, records: Sequence[InputRecord]) -> Handled:
        if self.fail:
            raise RuntimeError("rule evaluation failed")
        outputs = [OutputRecord("out", r.key, r.value) for r in records]
        return Handled(outputs, self.reports.append)


class Stopped(Exception):
    pass


def test_records_keep_topic_partition_offset_and_timestamp() -> None:
    records = records_of([fetched("in", 2, range(5, 7)), fetched("in", 0, range(0, 1))])
    assert [(r.topic, r.partition, r.offset) for r in records] == [
        ("in", 2, 5),
        ("in", 2, 6),
        ("in", 0, 0),
    ]
    assert records[0] == InputRecord("in", b"D-5", b"{}", 2, 5, 1_700_000_000_000)


def test_a_batch_is_stored_then_marked_handled_then_reported() -> None:
    producer, handler = Producer(), Echo()
    batch = [fetched("in", 0, range(0, 3)), fetched("in", 1, range(10, 12))]
    asyncio.run(handle_batch(batch, handler, Checkpoint(producer, [])))
    assert [r.key for r in producer.produced] == [b"D-0", b"D-1", b"D-2", b"D-10", b"D-11"]
    assert all(message.handled for message in batch)
    assert len(handler.reports) == 1
    assert handler.reports[0] >= 0


def test_a_failing_handler_stops_the_worker_with_nothing_handled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def stop(message: str) -> Any:
        raise Stopped(message)

    monkeypatch.setattr(all_or_nothing, "fail_stop", stop)
    producer, handler = Producer(), Echo(fail=True)
    batch = [fetched("in", 0, range(0, 3))]
    with pytest.raises(Stopped, match="echoing a batch failed"):
        asyncio.run(handle_batch(batch, handler, Checkpoint(producer, [])))
    assert not batch[0].handled
    assert producer.produced == []
    assert handler.reports == []
