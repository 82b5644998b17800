"""The consumer's acknowledgement of handled batches, against Faust's own commit bookkeeping:
only offsets that extend a partition's handled prefix may be committed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pipeline.worker.faust_adapter import BatchMessage, batch_message
from tests.unit.worker.conftest import TP0
from tests.unit.worker.test_faust_adapter import next_commit, record


def batch(consumer: Any, offsets: range, handled: bool = True) -> BatchMessage:
    message = batch_message(
        TP0,
        [record(offset) for offset in offsets],
        generation_id=consumer.app.consumer_generation_id,
        epoch=consumer._seek_epoch,
    )
    consumer.track_message(message)
    message.handled = handled
    return message


@pytest.fixture
def reading(consumer: Any) -> Any:
    """The consumer reads TP0 from offset 0, as after the seek that follows an assignment;
    the partition is not assigned, so nothing is read again (see the rewind test)."""
    consumer._handled.start(TP0, 0)
    consumer.assignment = lambda: set()
    return consumer


def test_handled_batches_in_order_are_committed_to_their_end(reading: Any) -> None:
    assert reading.ack(batch(reading, range(0, 3)))
    assert reading.ack(batch(reading, range(3, 5)))
    assert next_commit(reading, TP0) == 5


def test_a_batch_fetched_and_not_handled_is_never_committed(reading: Any) -> None:
    assert not reading.ack(batch(reading, range(0, 3), handled=False))
    assert next_commit(reading, TP0) is None
    # What comes after it is not committed either: it lies past a hole.
    assert not reading.ack(batch(reading, range(3, 6)))
    assert next_commit(reading, TP0) is None


def test_a_batch_beyond_a_hole_is_not_committed_until_the_hole_is_handled(reading: Any) -> None:
    assert reading.ack(batch(reading, range(0, 2)))
    assert not reading.ack(batch(reading, range(5, 8)))
    assert next_commit(reading, TP0) == 2
    # Read again from the hole on, in order: now the whole run commits.
    assert reading.ack(batch(reading, range(2, 8)))
    assert next_commit(reading, TP0) == 8


def test_a_batch_is_acknowledged_once(reading: Any) -> None:
    message = batch(reading, range(0, 3))
    assert reading.ack(message)
    assert not reading.ack(message)
    assert reading._n_acked == 3


def test_a_partition_the_consumer_has_not_placed_commits_nothing(consumer: Any) -> None:
    """No seek yet (no assignment): where reading started is unknown, so nothing is safe."""
    consumer.assignment = lambda: set()
    assert not consumer.ack(batch(consumer, range(10, 12)))
    assert next_commit(consumer, TP0) is None


def test_a_skipped_batch_sends_the_partition_back_to_the_end_of_its_prefix(consumer: Any) -> None:
    consumer._handled.start(TP0, 0)
    consumer.assignment = lambda: {TP0}
    sought: list[list[Any]] = []

    async def seek_to_prefix(tps: list[Any]) -> None:
        sought.append(list(tps))

    consumer._seek_to_prefix = seek_to_prefix

    async def skip_one() -> None:
        assert consumer.ack(batch(consumer, range(0, 4)))
        assert not consumer.ack(batch(consumer, range(4, 9), handled=False))
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    asyncio.get_event_loop().run_until_complete(skip_one())
    assert sought == [[TP0]]
    assert consumer._handled.next_offset(TP0) == 4
