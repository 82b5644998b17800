"""The batch loop: records to the handler, its outputs through the checkpoint, the
acknowledgement and the report once stored, the next batch handled while the last is stored; a
failure stops the worker with nothing handled."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from faust.types import TP

from pipeline.records import InputRecord, OutputRecord
from pipeline.worker import all_or_nothing
from pipeline.worker.all_or_nothing import run_batch
from pipeline.worker.checkpoint import Checkpoint
from pipeline.worker.faust_adapter import BatchMessage, batch_message
from pipeline.worker.loop import BatchLoop, Handled, records_of


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
    """Keeps what was produced; a flush waits for ``acknowledged`` and is logged."""

    log: list[str] = field(default_factory=list)
    produced: list[OutputRecord] = field(default_factory=list)
    acknowledged: asyncio.Event | None = None
    fail: bool = False

    def produce(self, records: Iterable[OutputRecord]) -> None:
        records = list(records)
        if records:
            self.log.append("send " + " ".join(str(r.key, "ascii") for r in records))
        self.produced.extend(records)

    async def flush(self) -> None:
        self.log.append("flush")
        if self.acknowledged is not None:
            await self.acknowledged.wait()
        if self.fail:
            raise RuntimeError("outputs not delivered")
        self.log.append("flushed")

    def delivered_offsets(self, topic: str) -> dict[int, int]:
        return {}


@dataclass
class Taken:
    messages: list[BatchMessage]
    log: list[str]

    async def ack(self) -> None:
        handled = all(message.handled for message in self.messages)
        self.log.append(f"ack {self.messages[0].records[0].offset} handled={handled}")


class Echo:
    what = "echoing a batch"

    def __init__(self, log: list[str], fail: bool = False) -> None:
        self.log = log
        self.fail = fail
        self.reports: list[float] = []

    async def handle(self, records: Sequence[InputRecord]) -> Handled:
        self.log.append(f"handle {records[0].offset}")
        await asyncio.sleep(0)
        if self.fail:
            raise RuntimeError("rule evaluation failed")
        outputs = [OutputRecord("out", r.key, r.value) for r in records]
        return Handled(outputs, self.reports.append)


def taken(log: list[str], *batches: BatchMessage) -> Taken:
    return Taken(list(batches), log)


async def step_then_store(handler: Echo, producer: Producer, batch: Taken) -> None:
    """One batch through the loop, as the agent runs it, and on until it is stored."""
    loop = BatchLoop(handler, Checkpoint(producer, []))
    await run_batch(loop.step(batch), handler.what)
    await loop.stored()


@pytest.fixture
def stops(monkeypatch: pytest.MonkeyPatch) -> None:
    def stop(message: str) -> Any:
        raise Stopped(message)

    monkeypatch.setattr(all_or_nothing, "fail_stop", stop)


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


def test_a_batch_is_stored_then_acknowledged_then_reported() -> None:
    producer = Producer()
    handler = Echo(producer.log)
    batch = taken(producer.log, fetched("in", 0, range(0, 3)), fetched("in", 1, range(10, 12)))
    asyncio.run(step_then_store(handler, producer, batch))
    assert producer.log == [
        "handle 0",
        "send D-0 D-1 D-2 D-10 D-11",
        "flush",
        "flushed",
        "ack 0 handled=True",
    ]
    assert len(handler.reports) == 1
    assert handler.reports[0] >= 0


def test_the_next_batch_is_handled_while_the_last_is_stored_and_sent_after_it() -> None:
    acknowledged = asyncio.Event()
    producer = Producer(acknowledged=acknowledged)
    handler = Echo(producer.log)
    first = taken(producer.log, fetched("in", 0, range(0, 2)))
    second = taken(producer.log, fetched("in", 0, range(2, 4)))

    async def run() -> None:
        loop = BatchLoop(handler, Checkpoint(producer, []))
        await run_batch(loop.step(first), handler.what)
        stepping = asyncio.ensure_future(run_batch(loop.step(second), handler.what))
        for _ in range(5):
            await asyncio.sleep(0)
        # The second is handled; its outputs wait for the first's to be acknowledged.
        assert producer.log == ["handle 0", "send D-0 D-1", "flush", "handle 2"]
        assert not stepping.done()
        assert not any(message.handled for message in first.messages)
        acknowledged.set()
        await stepping
        await loop.stored()

    asyncio.run(run())
    assert producer.log == [
        "handle 0",
        "send D-0 D-1",
        "flush",
        "handle 2",
        "flushed",
        "ack 0 handled=True",
        "send D-2 D-3",
        "flush",
        "flushed",
        "ack 2 handled=True",
    ]
    assert len(handler.reports) == 2


def test_a_failing_handler_stops_the_worker_with_nothing_sent_or_acknowledged(stops: None) -> None:
    producer = Producer()
    handler = Echo(producer.log, fail=True)
    batch = taken(producer.log, fetched("in", 0, range(0, 3)))
    with pytest.raises(Stopped, match="echoing a batch failed"):
        asyncio.run(step_then_store(handler, producer, batch))
    assert producer.log == ["handle 0"]
    assert not batch.messages[0].handled
    assert handler.reports == []


def test_a_batch_kafka_does_not_acknowledge_stops_the_worker_unacknowledged(stops: None) -> None:
    producer = Producer(fail=True)
    handler = Echo(producer.log)
    batch = taken(producer.log, fetched("in", 0, range(0, 3)))
    with pytest.raises(Stopped, match="echoing a batch failed"):
        asyncio.run(step_then_store(handler, producer, batch))
    assert producer.log == ["handle 0", "send D-0 D-1 D-2", "flush"]
    assert not batch.messages[0].handled
    assert handler.reports == []


def test_a_step_cancelled_midway_still_stores_and_acknowledges_its_batch() -> None:
    """As when Faust stops the agent: the step runs to its end, and the agent, on its way out,
    waits for the batch to be stored."""
    producer = Producer()
    handler = Echo(producer.log)
    batch = taken(producer.log, fetched("in", 0, range(0, 2)))

    async def run() -> None:
        loop = BatchLoop(handler, Checkpoint(producer, []))
        stepping = asyncio.ensure_future(run_batch(loop.step(batch), handler.what))
        while not producer.log:
            await asyncio.sleep(0)
        assert producer.log == ["handle 0"]
        stepping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stepping
        await loop.stored()

    asyncio.run(run())
    assert producer.log == ["handle 0", "send D-0 D-1", "flush", "flushed", "ack 0 handled=True"]
