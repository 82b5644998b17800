"""The consumer's acknowledgement of handled batches, against Faust's own commit bookkeeping:
only offsets that extend a partition's handled prefix may be committed."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from time import monotonic
from typing import Any

import pytest
from faust.types import TP

from pipeline import metrics
from pipeline.worker.faust_adapter import BatchMessage, batch_message
from tests.unit.worker.conftest import TOPIC, TP0
from tests.unit.worker.test_faust_adapter import next_commit, record


def batch(consumer: Any, offsets: range, handled: bool = True) -> BatchMessage:
    message = batch_message(
        TP0,
        [record(offset) for offset in offsets],
        generation_id=consumer.app.consumer_generation_id,
        epoch=consumer._seek_epochs.get(TP0, 0),
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

    async def seek_to_prefix(tps: list[Any], reason: str) -> None:
        assert reason == "skipped"
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


def rewinds(reason: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "screening_partition_rewinds_total", {"reason": reason}
    )
    assert value is not None
    return value


@pytest.fixture
def placed(consumer: Any) -> Any:
    """TP0 assigned and fetched, read from offset 0, its end offset 9 and its fetch position
    set by the test (``fetched``); seeks are recorded."""
    consumer.assignment = lambda: {TP0}
    consumer.resume_partitions([TP0])
    consumer.fetched = (9, 9)  # fetch position, end offset
    consumer._faust.fetch_state = lambda tp: consumer.fetched
    consumer.sought = []

    async def seek(tp: Any, offset: int) -> None:
        consumer.sought.append((tp, offset))

    consumer._faust.seek = seek
    run(consumer._seek_batched({TP0: 0}))
    consumer.sought.clear()
    return consumer


def run(coroutine: Any) -> Any:
    return asyncio.get_event_loop().run_until_complete(coroutine)


def test_the_watch_is_one_of_the_tasks_the_consumer_service_starts(consumer: Any) -> None:
    tasks = {task.fun.__name__ for task in consumer._get_tasks()}
    assert "_watch_batched_partitions" in tasks
    assert "_commit_handler" in tasks  # Faust's own, started the same way


def test_a_partition_left_unread_with_records_waiting_is_read_again(
    placed: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Records 4-8 wait unfetched and nothing moves the partition (here: Faust's flow control
    lost it): after a minute it is made fetchable and sought back to its first record not
    handled."""
    placed._note_delivery(TP0, 0, 3)  # as getmany delivers a batch
    assert placed.ack(batch(placed, range(0, 4)))
    placed.fetched = (4, 9)
    placed._get_active_partitions().discard(TP0)
    before, epoch = rewinds("stalled"), placed._seek_epochs[TP0]
    assert run(placed.read_stalled_again(monotonic() + 59)) == []
    with caplog.at_level(logging.WARNING):
        assert run(placed.read_stalled_again(monotonic() + 61)) == [TP0]
    assert placed.sought == [(TP0, 4)]
    assert placed._seek_epochs[TP0] == epoch + 1
    assert placed._faust.partition_flow(TP0) == "active"
    assert rewinds("stalled") == before + 1
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "last delivered 3, fetch position 4 of 9, flow none" in warning
    assert warning.endswith("reading it again from its first offset not handled, 4")
    # Read again in order from there, it is committed as any other.
    assert placed.ack(batch(placed, range(4, 9)))
    assert next_commit(placed, TP0) == 9


def test_records_delivered_and_never_handled_are_read_again(placed: Any) -> None:
    """Batch 4-8 was delivered (the fetch position is at the end) and never came back handled
    or skipped: after a minute the partition is sought back to offset 4."""
    placed._note_delivery(TP0, 0, 3)
    assert placed.ack(batch(placed, range(0, 4)))
    placed._note_delivery(TP0, 4, 8)
    assert run(placed.read_stalled_again(monotonic() + 61)) == [TP0]
    assert placed.sought == [(TP0, 4)]


def test_a_partition_read_to_its_end_or_moving_is_not_sought(placed: Any) -> None:
    placed._note_delivery(TP0, 0, 8)
    assert placed.ack(batch(placed, range(0, 9)))
    # Read to its end (offset 9): nothing waits, however long it stays so.
    assert run(placed.read_stalled_again(monotonic() + 3600)) == []
    # A transaction's marker at offset 9: the end offset is 10, the fetch position passed it,
    # and no record will ever extend the handled prefix to it.
    placed.fetched = (10, 10)
    assert run(placed.read_stalled_again(monotonic() + 7200)) == []
    placed.fetched = (10, 20)
    # Records arrive; the partition moves within the minute, as it does when it is read.
    assert run(placed.read_stalled_again(monotonic() + 7230)) == []
    placed._note_delivery(TP0, 10, 14)
    assert placed.ack(batch(placed, range(10, 15)))
    assert run(placed.read_stalled_again(monotonic() + 30)) == []
    assert placed.sought == []


def test_a_partition_paused_or_with_the_flow_stopped_is_left_alone(placed: Any) -> None:
    placed.fetched = (0, 9)  # nothing fetched yet: records 0-8 wait
    placed.pause_partitions([TP0])  # as while its tables recover
    assert run(placed.read_stalled_again(monotonic() + 120)) == []
    placed.resume_partitions([TP0])
    placed.flow_active = False  # a rebalance: its end seeks every partition
    assert run(placed.read_stalled_again(monotonic() + 240)) == []
    placed.flow_active = True
    placed.fetched = (None, None)  # its position being reset: nothing is known
    assert run(placed.read_stalled_again(monotonic() + 360)) == []
    assert placed.sought == []
    # The same partition, none of these: it is sought.
    placed.fetched = (0, 9)
    assert run(placed.read_stalled_again(monotonic() + 480)) == [TP0]


@pytest.mark.parametrize(
    ("handled", "first", "reason", "words"),
    [
        (False, 4, "skipped", "had a batch skipped unhandled"),
        (True, 6, "beyond_hole", "had a batch handled past records that were not"),
    ],
)
def test_a_batch_sent_back_is_counted_and_warned_about_by_its_reason(
    placed: Any,
    caplog: pytest.LogCaptureFixture,
    handled: bool,
    first: int,
    reason: str,
    words: str,
) -> None:
    """Offsets 0-3 are handled; a batch from ``first`` on comes back unhandled, or handled past
    the hole 4-5: the partition is read again from offset 4, with a warning that says which."""
    assert placed.ack(batch(placed, range(0, 4)))
    before = rewinds(reason)

    async def ack_and_settle() -> None:
        assert not placed.ack(batch(placed, range(first, 9), handled=handled))
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    with caplog.at_level(logging.WARNING):
        run(ack_and_settle())
    assert placed.sought == [(TP0, 4)]
    assert rewinds(reason) == before + 1
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning == f"{TP0} {words}; reading it again from offset 4"


def test_a_seek_of_another_partition_does_not_excuse_a_skipped_batch(placed: Any) -> None:
    """Batch 4-8 of TP0 is skipped after TP1 was sought: TP0 itself was not, so nothing else
    sends it back, and it is read again from offset 4 (with one epoch for all partitions it was
    taken as sought, and TP0 stayed unread from there without a word)."""
    tp1 = TP(TOPIC, 1)
    placed.assignment = lambda: {TP0, tp1}
    assert placed.ack(batch(placed, range(0, 4)))
    skipped = batch(placed, range(4, 9), handled=False)
    run(placed._seek_batched({tp1: 0}))
    placed.sought.clear()

    async def ack_and_settle() -> None:
        assert not placed.ack(skipped)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    run(ack_and_settle())
    assert placed.sought == [(TP0, 4)]


class _Fetcher:
    """What Faust's drain loop reads of the fetcher service: whether it stopped."""

    def __init__(self) -> None:
        self._stopped = asyncio.Event()


def _drain(consumer: Any, fetches: list[list[int]], on_first: Any) -> list[range]:
    """Runs Faust's own drain loop over ``fetches`` (each the offsets of TP0 one fetch
    returns); ``on_first`` runs while the first batch is being queued. Returns the offsets of
    the batches the loop passed on."""
    fetcher = _Fetcher()
    passed: list[range] = []
    script = iter(fetches)

    async def fetch(timeout: float) -> Any:
        offsets = next(script, None)
        if offsets is None:
            fetcher._stopped.set()
            return None, None
        return {TP0: [record(o) for o in offsets]}, None

    async def callback(message: Any) -> None:
        if not passed:
            await on_first()
        passed.append(range(message.records[0].offset, message.offset + 1))

    consumer._faust.fetch = fetch
    consumer.callback = callback
    run(consumer._drain_messages(fetcher))
    return passed


def test_a_seek_back_while_a_batch_is_queued_does_not_lose_the_records_read_again(
    placed: Any,
) -> None:
    """The drain loop sets a partition's read offset from each message once it is queued, and
    drops messages below it. A seek back to offset 0 that lands while batch 0-4 is queued is
    then undone, and the records read again in a smaller fetch (0-2) would be dropped without a
    word, although the consumer counts them delivered."""

    async def seek_back() -> None:
        await placed._seek_to_prefix([TP0], "skipped")

    fetches = [[0, 1, 2, 3, 4], [0, 1, 2], [3, 4]]
    assert _drain(placed, fetches, seek_back) == [range(0, 5), range(0, 3), range(3, 5)]
    assert placed.sought == [(TP0, 0)]


def test_faust_s_own_read_offsets_would_drop_them(placed: Any) -> None:
    """Why the consumer leaves the read offsets blank for its batched topics: the same run
    with Faust's own mapping, on the installed Faust."""
    placed._read_offset = defaultdict(lambda: None)

    async def seek_back() -> None:
        await placed._seek_to_prefix([TP0], "skipped")
        placed._read_offset[TP0] = None  # what a seek to offset 0 sets

    fetches = [[0, 1, 2, 3, 4], [0, 1, 2], [3, 4]]
    # Records 0-2, read again, are dropped: the loop had set the read offset to 4 after the
    # seek. Had the partition ended at offset 2, it would have stayed unread.
    assert _drain(placed, fetches, seek_back) == [range(0, 5), range(3, 5)]
