"""Everything the worker needs of Faust's internals, and nothing else.

Faust has no public interface for what the worker does with it: hand over whole fetched
partition batches, decide itself which offsets may be committed, and write its tables through
its own producer. This module is the one place that reads and writes Faust's private state; its
tests (``tests/unit/worker/test_faust_adapter.py``) run each function against the installed
Faust without a broker, so a Faust upgrade that moves any of it fails there, in one file.

Written against faust-streaming 0.15 (``TESTED_FAUST``); the lock pins the release.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import faust
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP, EventT
from faust.types.tuples import ConsumerMessage, ack_lock
from mode.utils.futures import notify

__all__ = [
    "TESTED_FAUST",
    "BatchMessage",
    "ConsumerInternals",
    "StoreInternals",
    "Taken",
    "ack_lock",
    "consumer_thread",
    "take_batches",
]

TESTED_FAUST = "0.15.3"

# Faust's Kafka consumer and transport, the classes the worker's own consumer extends.
KafkaConsumer = aiokafka_driver.Consumer
KafkaTransport = aiokafka_driver.Transport


class _ConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    """Faust's consumer thread, its aiokafka consumer asking the broker to hold a fetch
    ``fetch_max_wait_ms`` at most (Faust's driver fixes 1,500 ms)."""

    fetch_max_wait_ms: int

    def _create_consumer(self, loop: Any) -> Any:
        consumer = super()._create_consumer(loop)
        # Read by AIOKafkaConsumer.start, which makes the fetcher.
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms
        return consumer


def consumer_thread(consumer: Any, fetch_max_wait_ms: int) -> Any:
    """The thread for ``consumer`` (its ``_new_consumer_thread``): aiokafka sends one fetch
    request at a time to a broker, and the broker holds it until one of the partitions it names
    has records or the wait is over. A request that names only quiet partitions (those with
    records fetched and not yet taken are left out of it) keeps every other partition of that
    broker from being fetched for as long as it is held."""
    thread = _ConsumerThread(consumer, loop=consumer.loop, beacon=consumer.beacon)
    thread.fetch_max_wait_ms = fetch_max_wait_ms  # read when the thread starts
    return thread


class BatchMessage(ConsumerMessage):
    """One Faust message standing for every record fetched from a partition at once."""

    __slots__ = ("handled", "records", "seek_epoch")

    records: Sequence[Any]  # aiokafka ConsumerRecords, in offset order
    handled: bool  # its outputs are stored: its offsets may be committed
    seek_epoch: int  # its partition's seek epoch when the records were fetched


def batch_message(tp: TP, records: Sequence[Any], generation_id: int, epoch: int) -> BatchMessage:
    """A message for ``records`` (one partition's, in offset order): its offset is the last
    record's, so that Faust's flow control and monitor see the partition's position."""
    last = records[-1]
    message = BatchMessage(
        last.topic,
        last.partition,
        last.offset,
        last.timestamp / 1000.0,
        last.timestamp_type,
        None,
        None,
        b"",
        None,
        0,
        sum(len(r.value) for r in records if r.value is not None),
        tp,
        generation_id=generation_id,
    )
    message.records = records
    message.handled = False
    message.seek_epoch = epoch
    return message


class ConsumerInternals:
    """The commit bookkeeping and fetch path of one Faust consumer."""

    def __init__(self, consumer: Any) -> None:
        self._consumer = consumer

    def committed_offset(self, tp: TP) -> int | None:
        """The offset Faust last committed (or read as committed) for ``tp``."""
        offset: int | None = self._consumer._committed_offset.get(tp)
        return offset

    def ignore_read_offsets(self, topics: frozenset[str]) -> None:
        """Faust's drain loop drops no message of ``topics`` for its read offset.

        The loop drops a message whose offset is below the partition's read offset, and sets
        that offset from each message once the message is queued. A seek back that lands while
        a batch is being queued is then undone, and the partition's records read again up to
        that batch are dropped without a word, while the consumer counts them delivered: they
        are read again only if a later batch of the partition shows the hole. For the batched
        topics the seek epochs and the handled prefix already decide what is passed on and what
        is committed, so the read offset is left blank for them."""
        self._consumer._read_offset = _ReadOffsets(topics, self._consumer._read_offset)

    def partition_flow(self, tp: TP) -> str:
        """Where Faust's flow control has ``tp``: active, buffered (its stream's queue is
        full), paused (during recovery), or none of them."""
        consumer = self._consumer
        states = [
            name
            for name, tps in (
                ("active", consumer._active_partitions or ()),
                ("buffered", consumer._buffered_partitions),
                ("paused", consumer._paused_partitions),
            )
            if tp in tps
        ]
        return "+".join(states) or "none"

    def fetch_state(self, tp: TP) -> tuple[int | None, int | None]:
        """The next offset the consumer fetches from ``tp``, and the partition's end offset as
        of its last fetch; None for what is not known (``tp`` not assigned, or its position
        being reset). Read from aiokafka's partition state, as its own ``highwater`` is."""
        try:
            consumer = self._consumer._thread._ensure_consumer()
            state = consumer._subscription.subscription.assignment.state_value(tp)
            position: int | None = state.position if state.has_valid_position else None
            highwater: int | None = state.highwater
        except Exception:  # not started, not subscribed, or not assigned
            return None, None
        return position, highwater

    def paused(self, tp: TP) -> bool:
        """Faust keeps ``tp`` from being fetched on purpose (while it recovers tables)."""
        return tp in self._consumer._paused_partitions

    def reactivate(self, tp: TP) -> None:
        """Fetch ``tp`` again, as when its stream's queue drains below the pressure mark."""
        if not self.paused(tp):
            self._consumer._get_active_partitions().add(tp)
            self._consumer._buffered_partitions.discard(tp)

    def settle(self, message: ConsumerMessage) -> bool:
        """Marks ``message`` acknowledged and no longer awaited by Faust's shutdown; False if it
        was already. Call under ``ack_lock``."""
        if message.acked:
            return False
        message.acked = True
        self._consumer._unacked_messages.discard(message)
        return True

    def acknowledge(self, tp: TP, offsets: Iterable[int]) -> int:
        """``offsets`` of ``tp`` may be committed; Faust commits the run of acknowledged
        offsets on its next commit. Returns how many were new. Call under ``ack_lock``."""
        index, acked = self._consumer._acked_index[tp], self._consumer._acked[tp]
        added = 0
        for offset in offsets:
            if offset not in index:
                index.add(offset)
                acked.append(offset)
                added += 1
        self._consumer._n_acked += added
        notify(self._consumer._waiting_for_ack)
        return added

    def buffered(self, tp: TP) -> bool:
        """Faust holds records of ``tp`` it fetched while its flow was paused."""
        return tp in self._consumer._buffered_partitions

    async def fetch(self, timeout: float) -> tuple[Mapping[TP, Sequence[Any]] | None, Any]:
        """The next fetched records by partition, and the partitions active for delivery."""
        result: tuple[Mapping[TP, Sequence[Any]] | None, Any]
        result = await self._consumer._wait_next_records(timeout)
        return result

    def to_message(self, tp: TP, record: Any) -> ConsumerMessage:
        """Faust's own message for one record (for topics the worker does not batch)."""
        message: ConsumerMessage = self._consumer._to_message(tp, record)
        return message

    async def seek(self, tp: TP, offset: int) -> None:
        """Moves the fetch position of ``tp``, on the consumer's own thread. Faust's ``_seek``
        calls aiokafka from the caller's thread, where it races the thread's fetch over the
        fetcher's buffered records (a KeyError in ``fetched_records`` that crashes the
        worker); Faust's other seeks go through ``call_thread`` as this one does."""
        thread = self._consumer._thread
        await thread.call_thread(thread._ensure_consumer().seek, tp, offset)


class _ReadOffsets(defaultdict[TP, int | None]):
    """Faust's read offsets by partition, always blank (None) for ``topics``."""

    def __init__(self, topics: frozenset[str], offsets: Mapping[TP, int | None]) -> None:
        super().__init__(lambda: None, offsets)
        self._topics = topics

    def __getitem__(self, tp: TP) -> int | None:
        if tp.topic in self._topics:
            return None
        return super().__getitem__(tp)


class StoreInternals:
    """A Faust RocksDB table store, read and written by partition."""

    def __init__(self, table: Any) -> None:
        self._store = table.data  # faust.stores.rocksdb.Store
        self.app = table.app

    def database(self, partition: int) -> Any:
        """The partition's RocksDB database (rocksdict), opened if Faust has not yet."""
        return self._store._db_for_partition(partition)

    @property
    def offset_key(self) -> bytes:
        """The key under which each database keeps its changelog offset."""
        key: bytes = self._store.offset_key
        return key

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        """The database of ``tp`` holds the changelog up to ``offset`` (recovery reads on from
        there)."""
        self._store.set_persisted_offset(tp, offset)

    def persisted_offset(self, tp: TP) -> int | None:
        offset: int | None = self._store.persisted_offset(tp)
        return offset

    def active_partitions(self, changelog: str) -> list[int]:
        """The partitions of ``changelog`` this worker owns (not those it keeps as a standby)."""
        actives = self.app.assignor.assigned_actives()
        return sorted(tp.partition for tp in actives if tp.topic == changelog)


class Taken:
    """Events taken from a stream at once. Nothing acknowledges them but ``ack``, called once
    their outputs are stored: the next batch may be taken and handled meanwhile."""

    __slots__ = ("_events", "_stream", "messages")

    def __init__(self, stream: faust.StreamT[bytes], events: list[EventT[bytes]]) -> None:
        self._stream = stream
        self._events = events
        self.messages: list[BatchMessage] = [event.message for event in events]  # type: ignore[misc]

    async def ack(self) -> None:
        for event in self._events:
            await self._stream.ack(event)


async def take_batches(
    stream: faust.StreamT[bytes], max_events: int, linger_s: float
) -> AsyncIterator[Taken]:
    """The stream's fetched batches, up to ``max_events`` at once: what has arrived when the
    caller asks, or the first to come, and whatever comes within ``linger_s`` after.

    Faust's ``take_events`` waits its ``within`` from when it is asked, even with nothing
    there, and acknowledges a batch when the next is asked for; this waits ``linger_s`` from
    the ask or from the first arrival, whichever is later, and leaves the acknowledgement to
    ``Taken.ack``. What came while the last batch was handled waits too: the wait is when the
    consumer thread has the GIL to hand over its fetches, and a busy worker read a backlog
    2-11 % slower when it was left out.

    It fills its buffer the way ``take_events`` does: a processor of the stream, which the
    stream's passive drainer runs for every event and which holds the drainer back while the
    buffer is full (the stream's queue, then Faust's flow control, hold the rest)."""
    # Faust's Stream implements what its StreamT stubs leave out (wait, the passive drainer).
    faust_stream: Any = stream
    buffer: list[EventT[bytes]] = []
    arrived, full, room = asyncio.Event(), asyncio.Event(), asyncio.Event()
    room.set()

    async def add_to_buffer(value: bytes) -> bytes:
        event = stream.current_event
        if event is None:
            raise RuntimeError("a stream processor ran without a current event")
        buffer.append(event)
        arrived.set()
        if len(buffer) >= max_events:
            full.set()
            room.clear()
            await faust_stream.wait(room)
        return value

    channel: Any = stream.channel
    queued_empty = channel.queue.empty
    acks_before = stream.enable_acks
    stream.enable_acks = False  # skipped events are still acknowledged by the stream
    stream.add_processor(add_to_buffer)
    faust_stream._enable_passive(aiter(channel))
    try:
        while not stream.should_stop:
            await faust_stream.wait_for_stopped(arrived)
            if linger_s and not full.is_set():
                await faust_stream.wait_for_stopped(full, timeout=linger_s)
            # One fetch's partitions reach the buffer one event loop turn apart: take the
            # rest of what is queued before handing the batch over.
            while not full.is_set():
                had = len(buffer)
                await asyncio.sleep(0)
                if len(buffer) == had and queued_empty():
                    break
            if not buffer:
                continue
            taken = Taken(stream, list(buffer))
            buffer.clear()
            arrived.clear()
            full.clear()
            room.set()
            yield taken
    finally:
        room.set()
        stream.enable_acks = acks_before
        faust_stream._processors.remove(add_to_buffer)
