"""The adapter against the installed Faust, without a broker: each function reads or writes
the private state that Faust's own commit, recovery and shutdown use. A Faust release that moves
any of it fails here."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
from aiokafka.consumer.subscription_state import (  # type: ignore[import-untyped]
    SubscriptionState,
)
from aiokafka.structs import ConsumerRecord  # type: ignore[import-untyped]
from faust.types import TP

from pipeline.worker.faust_adapter import (
    TESTED_FAUST,
    BatchMessage,
    ConsumerInternals,
    StoreInternals,
    batch_message,
    take_batches,
)
from tests.unit.worker.conftest import TOPIC, TP0


def next_commit(consumer: Any, tp: TP) -> int | None:
    """The offset Faust's own commit would commit for ``tp`` now (it takes those offsets off
    its list, as a commit does)."""
    offset: int | None = consumer._new_offset(tp)
    return offset


def record(offset: int, partition: int = 0) -> Any:
    return ConsumerRecord(
        TOPIC, partition, offset, 1_700_000_000_000, 0, b"k", b"{}", None, 2, 2, ()
    )


def test_the_installed_faust_is_the_release_the_adapter_was_written_for() -> None:
    assert faust.__version__ == TESTED_FAUST


def test_acknowledged_offsets_are_what_faust_commits_next(consumer: Any) -> None:
    internals = ConsumerInternals(consumer)
    assert next_commit(consumer, TP0) is None
    assert internals.acknowledge(TP0, range(0, 5)) == 5
    # Offsets already acknowledged are not counted twice.
    assert internals.acknowledge(TP0, range(3, 8)) == 3
    assert consumer._n_acked == 8
    assert next_commit(consumer, TP0) == 8


def test_a_run_after_a_hole_is_not_committed_past_the_hole(consumer: Any) -> None:
    internals = ConsumerInternals(consumer)
    internals.acknowledge(TP0, [0, 1, 2, 6, 7])
    assert next_commit(consumer, TP0) == 3


def test_committed_offset_is_faust_s_record_of_the_last_commit(consumer: Any) -> None:
    internals = ConsumerInternals(consumer)
    assert internals.committed_offset(TP0) is None
    consumer._committed_offset[TP0] = 41  # as Faust's commit and seek to committed write it
    assert internals.committed_offset(TP0) == 41


def test_the_drain_loop_finds_no_read_offset_for_the_batched_topics(consumer: Any) -> None:
    """Faust's drain loop reads and writes the read offsets through the mapping's own
    ``__getitem__`` and ``__setitem__``, bound when it starts; its seeks update them."""
    other = TP("customs.examination.results.v1", 0)
    consumer._read_offset[other] = 7
    # The consumer installs its map when it is made; a fresh one here, to see what it keeps.
    ConsumerInternals(consumer).ignore_read_offsets(frozenset({TOPIC}))
    get_read_offset = consumer._read_offset.__getitem__
    set_read_offset = consumer._read_offset.__setitem__
    assert get_read_offset(other) == 7
    set_read_offset(TP0, 1685)  # a batch queued after a seek back to 1486
    consumer._read_offset.update({TP0: 1486})  # Faust's seek to the committed offsets
    assert get_read_offset(TP0) is None
    assert get_read_offset(TP("customs.examination.results.v1", 1)) is None
    set_read_offset(other, 9)
    assert get_read_offset(other) == 9
    consumer._read_offset.pop(other, None)  # as a revocation does
    assert get_read_offset(other) is None


def test_the_consumer_s_drain_loop_reads_the_installed_map(consumer: Any) -> None:
    assert consumer._read_offset[TP0] is None
    consumer._read_offset[TP0] = 5
    assert consumer._read_offset[TP0] is None


def test_the_fetch_state_is_aiokafka_s_partition_state(consumer: Any) -> None:
    internals = ConsumerInternals(consumer)
    assert internals.fetch_state(TP0) == (None, None)  # the consumer is not started

    async def assigned() -> Any:  # aiokafka makes its state on a running loop
        subscription = SubscriptionState()
        subscription.assign_from_user([TP0])
        return subscription

    subscription = asyncio.get_event_loop().run_until_complete(assigned())
    consumer._thread._consumer = SimpleNamespace(_subscription=subscription)
    assert internals.fetch_state(TP0) == (None, None)  # waiting for its position
    subscription.seek(TP0, 4)
    subscription.subscription.assignment.state_value(TP0).highwater = 9  # as a fetch sets it
    assert internals.fetch_state(TP0) == (4, 9)
    assert internals.fetch_state(TP(TOPIC, 1)) == (None, None)  # not assigned


def test_flow_control_state_of_a_partition(consumer: Any) -> None:
    internals = ConsumerInternals(consumer)
    consumer.assignment = lambda: {TP0}
    assert internals.partition_flow(TP0) == "none"
    consumer.resume_partitions([TP0])
    assert internals.partition_flow(TP0) == "active"
    consumer.on_buffer_full(TP0)  # its stream's queue under pressure: not fetched for now
    assert internals.partition_flow(TP0) == "buffered"
    internals.reactivate(TP0)
    assert internals.partition_flow(TP0) == "active"
    # The pressure drop that comes later finds nothing to do.
    consumer.on_buffer_drop(TP0)
    assert internals.partition_flow(TP0) == "active"
    consumer.pause_partitions([TP0])
    assert internals.paused(TP0)
    assert internals.partition_flow(TP0) == "paused"
    internals.reactivate(TP0)  # paused on purpose: left paused
    assert internals.partition_flow(TP0) == "paused"


def test_settling_a_message_takes_it_off_what_faust_s_shutdown_waits_for(consumer: Any) -> None:
    internals = ConsumerInternals(consumer)
    message = batch_message(TP0, [record(0), record(1)], generation_id=1, epoch=0)
    consumer.track_message(message)
    assert message in consumer._unacked_messages
    assert internals.settle(message)
    assert message.acked
    assert message not in consumer._unacked_messages
    assert not internals.settle(message)


def test_a_batch_message_stands_for_its_records(consumer: Any) -> None:
    message = batch_message(TP0, [record(7), record(8), record(9)], generation_id=3, epoch=2)
    assert isinstance(message, BatchMessage)
    assert (message.tp, message.offset, message.generation_id) == (TP0, 9, 3)
    assert [r.offset for r in message.records] == [7, 8, 9]
    assert not message.handled
    assert message.seek_epoch == 2


def test_faust_s_fetch_path_is_where_the_adapter_calls_it(consumer: Any) -> None:
    internals = ConsumerInternals(consumer)
    assert list(inspect.signature(consumer._wait_next_records).parameters) == ["timeout"]
    thread = consumer._thread
    assert inspect.iscoroutinefunction(thread.call_thread)
    assert callable(thread._ensure_consumer)
    assert not internals.buffered(TP0)
    consumer._buffered_partitions.add(TP0)
    assert internals.buffered(TP0)
    message = internals.to_message(TP0, record(4))
    assert (message.tp, message.offset, message.value) == (TP0, 4, b"{}")


def test_store_databases_offsets_and_owned_partitions(tmp_path: Path) -> None:
    app = faust.App(
        "adapter-store", broker="kafka://127.0.0.1:1", store="rocksdb://", datadir=str(tmp_path)
    )
    table = app.Table("versions", default=None, partitions=4, key_type=str)
    store = StoreInternals(table)
    changelog = table.changelog_topic.get_topic_name()
    database = store.database(2)
    database[b"k"] = b"v"
    assert store.database(2)[b"k"] == b"v"
    assert store.persisted_offset(TP(changelog, 2)) is None
    store.set_persisted_offset(TP(changelog, 2), 99)
    assert store.persisted_offset(TP(changelog, 2)) == 99
    assert store.offset_key in store.database(2)
    assert store.active_partitions(changelog) == []


def test_the_consumer_threads_aiokafka_consumer_fetches_with_the_shorter_wait(
    consumer: Any,
) -> None:
    """The worker's consumer makes its thread with the adapter, and the aiokafka consumer the
    thread makes (as its start does, here without starting it) carries the wait, which
    aiokafka's start hands to its fetcher."""
    from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]

    from pipeline.worker.transport import FETCH_MAX_WAIT_MS

    thread = consumer._thread
    assert thread.fetch_max_wait_ms == FETCH_MAX_WAIT_MS < 1500

    async def made_and_closed() -> Any:
        made = thread._create_consumer(loop=asyncio.get_running_loop())
        await made.stop()
        return made

    made = asyncio.get_event_loop().run_until_complete(made_and_closed())
    assert isinstance(made, AIOKafkaConsumer)
    assert made._fetch_max_wait_ms == FETCH_MAX_WAIT_MS
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in inspect.getsource(AIOKafkaConsumer.start)


async def taking(linger_s: float, sends: list[list[int]], gap_s: float) -> list[list[int]]:
    """The values of each batch ``take_batches`` hands over (at most 4 events) when the groups
    of ``sends`` arrive ``gap_s`` apart, the values of a group one event loop turn apart."""
    app = faust.App("unit-take", broker="kafka://127.0.0.1:1")
    app.flow_control.resume()
    channel = app.channel()
    stream = channel.stream()
    await stream.start()

    async def send() -> None:
        for group in sends:
            for value in group:
                await channel.send(value=value)
                await asyncio.sleep(0)
            await asyncio.sleep(gap_s)

    sending = asyncio.ensure_future(send())
    taken: list[list[int]] = []
    batches = take_batches(stream, 4, linger_s)
    while sum(map(len, taken)) < sum(map(len, sends)):
        batch = await asyncio.wait_for(anext(batches), 5)
        assert not any(message.acked for message in batch.messages)
        await batch.ack()
        assert all(message.acked for message in batch.messages)
        taken.append([message.value for message in batch.messages])
    await sending
    await batches.aclose()
    await stream.stop()
    app.consumer._thread.thread_loop.close()  # made by the stream, never started
    return taken


def test_take_batches_hands_over_what_has_arrived_at_once_up_to_the_cap() -> None:
    taken = asyncio.run(taking(0.0, [[0, 1, 2, 3, 4, 5], [6]], gap_s=0.2))
    assert taken == [[0, 1, 2, 3], [4, 5], [6]]


def test_take_batches_lingers_for_more_only_when_asked_to() -> None:
    assert asyncio.run(taking(0.5, [[0], [1]], gap_s=0.05)) == [[0, 1]]
    assert asyncio.run(taking(0.0, [[0], [1]], gap_s=0.05)) == [[0], [1]]
