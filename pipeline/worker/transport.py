"""A Faust transport whose consumer hands each fetched partition batch to the agent as one event.

Faust moves every record from its consumer to an agent through per-event machinery (a task per
message, an Event, sensors, acks): about 4,000 records/s on two cores, whatever the agent does.
For the topics named in ``batched_topics`` this consumer wraps all the records fetched for one
partition in a single message, so that cost is paid once per fetch instead of once per record.
Faust's consumer group, rebalancing, flow control and commits stay as they are.

Commits: a commit must never pass a record whose outputs are not stored. Faust's own bookkeeping
allows that: it commits the first run of acknowledged offsets wherever that run starts when a
partition has no committed offset yet, records skipped during a rebalance (fetched while the flow
is stopped) leave the fetch position past them, and the seek to the committed offsets after a
rebalance does nothing for a partition without one. So for the batched topics this consumer
keeps its own account (``HandledOffsets``): after every rebalance it seeks each partition to its
committed offset, or to where the reset policy says when there is none; a handled batch
acknowledges only the offsets that extend the partition's handled prefix (records, and offsets
the consumer read past because they hold none, such as transaction markers); a batch skipped
unhandled, or handled beyond a hole, sends the partition back to the end of its prefix, so that
what was skipped, and everything after it, is fetched and handled again in order. Faust's gap
bookkeeping and its read offsets are not used for these topics.

Liveness: a batched partition with records waiting (not fetched yet, or delivered and not
handled) that has not moved (no batch delivered, no offset handled, no seek) for
``stall_after_s`` is read again from the end of its prefix, with a warning that gives its state
(``partition_watch.py``). Every seek back
is counted by reason in ``screening_partition_rewinds_total``.

Faust's private state is reached only through ``faust_adapter``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from time import monotonic
from typing import Any, ClassVar, Literal

from faust.types import TP, Message
from mode import Service

from pipeline import metrics
from pipeline.metrics import RewindReason
from pipeline.worker.faust_adapter import (
    BatchMessage,
    ConsumerInternals,
    KafkaConsumer,
    KafkaTransport,
    ack_lock,
    batch_message,
    consumer_thread,
)
from pipeline.worker.handled_offsets import HandledOffsets
from pipeline.worker.partition_watch import StallWatch

log = logging.getLogger(__name__)

# The longest the broker may hold a fetch request. While it holds one, the consumer fetches
# nothing else from it: records that came meanwhile on partitions the request did not name wait
# out the hold (Faust's 1.5 s made a declaration wait seconds at times).
FETCH_MAX_WAIT_MS = 50
# How often the batched partitions are checked for a stall.
WATCH_INTERVAL_S = 5.0
# A batch that came back unhandled, or handled past a hole, sends its partition back; what
# the warning says of it, before the offset read again from.
BatchRewind = Literal["skipped", "beyond_hole"]
_REWOUND_BECAUSE: dict[BatchRewind, str] = {
    "skipped": "had a batch skipped unhandled",
    "beyond_hole": "had a batch handled past records that were not",
}


class BatchingConsumer(KafkaConsumer):
    batched_topics: ClassVar[frozenset[str]] = frozenset()
    # Long against a batch's handling (tens of milliseconds), and against flow control holding
    # a partition back while its stream's queue drains.
    stall_after_s: ClassVar[float] = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._faust = ConsumerInternals(self)
        self._faust.ignore_read_offsets(self.batched_topics)
        self._handled = HandledOffsets()
        self._watch = StallWatch(self.stall_after_s)
        # Per batched partition, raised after each seek of it: its records fetched before the
        # seek may come from the old position and are not delivered. Per partition, because a
        # seek of one partition sends back none of the others.
        self._seek_epochs: dict[TP, int] = {}
        self._last_delivered: dict[TP, int] = {}
        self._rewinding: dict[TP, asyncio.Future[None]] = {}

    def _new_consumer_thread(self) -> Any:
        return consumer_thread(self, FETCH_MAX_WAIT_MS)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        epochs = dict(self._seek_epochs)
        records, active_partitions = await self._faust.fetch(timeout)
        generation_id = self.app.consumer_generation_id
        if records is None or self.should_stop:
            return
        if not self.flow_active:
            # Paused for a rebalance: what was fetched is dropped and fetched again from the
            # committed offsets once the new assignment is known.
            try:
                await self.perform_seek()
            except Exception as exc:
                self.log.warning("seek back to the committed offsets failed: %r", exc)
            return
        delivered: set[TP] = set()
        for tp, tp_records in records.items():
            if not tp_records:
                continue
            if not self.flow_active or self.app.consumer_generation_id != generation_id:
                break
            if (
                active_partitions is not None
                and tp not in active_partitions
                and not self._faust.buffered(tp)
            ):
                continue
            if tp.topic not in self.batched_topics:
                for record in tp_records:
                    yield tp, self._faust.to_message(tp, record)
            elif (epoch := self._seek_epochs.get(tp, 0)) == epochs.get(tp, 0):
                delivered.add(tp)
                self._note_delivery(tp, tp_records[0].offset, tp_records[-1].offset)
                yield tp, batch_message(tp, tp_records, generation_id, epoch)
        # Records fetched and not delivered (fetched before a seek, or cut off by a rebalance)
        # left the fetch position past them: read them again.
        dropped = [
            tp
            for tp, tp_records in records.items()
            if tp_records and tp.topic in self.batched_topics and tp not in delivered
        ]
        if dropped:
            await self._seek_to_prefix(dropped, "dropped")

    async def _seek_to_prefix(self, tps: Sequence[TP], reason: RewindReason) -> None:
        assigned = self.assignment()
        starts: dict[TP, int] = {}
        for tp in tps:
            start = self._handled.next_offset(tp)
            if start is not None and tp in assigned:
                starts[tp] = start
            else:  # the next assignment seeks it
                self._last_delivered.pop(tp, None)
        if starts:
            metrics.PARTITION_REWINDS.labels(reason).inc(len(starts))
        await self._seek_batched(starts)

    def _note_delivery(self, tp: TP, first: int, last: int) -> None:
        """The consumer read ``tp`` on from the last batch delivered (or from where it was
        sought): offsets in between hold no record."""
        previous = self._last_delivered.get(tp)
        if previous is not None and first > previous + 1:
            self._handled.no_records(tp, previous + 1, first - 1)
        self._last_delivered[tp] = last
        self._watch.moved(tp, monotonic())

    async def perform_seek(self) -> None:
        await super().perform_seek()
        assigned = {tp for tp in self.assignment() if tp.topic in self.batched_topics}
        self._handled.keep_only(assigned)
        self._watch.keep_only(assigned)
        starts = {tp: self._faust.committed_offset(tp) for tp in assigned}
        unknown = [tp for tp, offset in starts.items() if offset is None]
        if unknown:
            starts.update(await self._reset_positions(unknown))
        await self._seek_batched(
            {tp: offset for tp, offset in starts.items() if offset is not None}
        )

    async def _reset_positions(self, tps: list[TP]) -> Mapping[TP, int]:
        """Where the reset policy starts partitions that have no committed offset."""
        if self.app.conf.consumer_auto_offset_reset == "latest":
            return await self.highwaters(*tps)
        return await self.earliest_offsets(*tps)

    async def _seek_batched(self, starts: Mapping[TP, int]) -> None:
        for tp, offset in starts.items():
            try:
                await self._faust.seek(tp, offset)
            except Exception as exc:  # no longer assigned: its next assignment seeks it
                log.warning("seek of %s to %d failed: %r", tp, offset, exc)
                self._last_delivered.pop(tp, None)
                continue
            self._last_delivered[tp] = offset - 1
            self._handled.start(tp, offset)
            self._watch.moved(tp, monotonic())
            self._seek_epochs[tp] = self._seek_epochs.get(tp, 0) + 1

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        if tp.topic not in self.batched_topics:
            await super()._add_gap(tp, offset_from, offset_to)

    def ack(self, message: Message) -> bool:
        if not isinstance(message, BatchMessage):
            return bool(super().ack(message))
        with ack_lock:
            if not self._faust.settle(message):
                return False
            tp = message.tp
            # A seek of the partition since the batch was fetched, or a new generation (whose
            # assignment seeks), already sends the partition back before anything unhandled.
            current = (
                message.seek_epoch == self._seek_epochs.get(tp, 0)
                and message.generation_id == self.app.consumer_generation_id
            )
            if not message.handled:
                # Skipped by Faust (a rebalance, a stopped flow): never commit past it.
                if current:
                    self._rewind(tp, "skipped")
                return False
            first = message.records[0].offset
            if self._handled.beyond_prefix(tp, first):
                # Handled past a hole: read again from the hole on, this batch included.
                if current:
                    self._rewind(tp, "beyond_hole")
                return False
            settled = self._handled.handled(tp, first, message.offset)
            if not settled:
                return False
            self._faust.acknowledge(tp, settled)
            self._watch.moved(tp, monotonic())
            return True

    def _rewind(self, tp: TP, reason: BatchRewind) -> None:
        """Read ``tp`` again from the end of its handled prefix."""
        target = self._handled.next_offset(tp)
        if target is None or tp in self._rewinding or tp not in self.assignment():
            return
        self._rewinding[tp] = asyncio.ensure_future(self._seek_back(tp, target, reason))

    async def _seek_back(self, tp: TP, offset: int, reason: BatchRewind) -> None:
        try:
            log.warning(
                "%s %s; reading it again from offset %d", tp, _REWOUND_BECAUSE[reason], offset
            )
            await self._seek_to_prefix([tp], reason)
        finally:
            self._rewinding.pop(tp, None)

    @Service.timer(WATCH_INTERVAL_S)
    async def _watch_batched_partitions(self) -> None:
        await self.read_stalled_again(monotonic())

    async def read_stalled_again(self, now: float) -> list[TP]:
        """Reads again, from the end of its handled prefix, each batched partition that has had
        records waiting without moving for ``stall_after_s``. Returns those partitions."""
        if not self.flow_active:
            return []
        stalled: list[TP] = []
        for tp in self.assignment():
            if tp.topic not in self.batched_topics:
                continue
            prefix = self._handled.next_offset(tp)
            position, highwater = self._faust.fetch_state(tp)
            delivered = self._last_delivered.get(tp)
            # Records not fetched yet, or fetched and delivered but not handled. Offsets the
            # fetch position passed without records (a transaction's marker at the end of the
            # partition) are neither.
            unread = position is not None and highwater is not None and position < highwater
            unhandled = prefix is not None and delivered is not None and prefix <= delivered
            waiting = prefix is not None and (unread or unhandled) and not self._faust.paused(tp)
            if self._watch.stalled(tp, waiting, now):
                log.warning(
                    "%s has had records waiting for over %.0f s without being read (last "
                    "delivered %s, fetch position %s of %s, flow %s, seek back pending %s); "
                    "reading it again from its first offset not handled, %s",
                    tp,
                    self._watch.after_s,
                    delivered,
                    position,
                    highwater,
                    self._faust.partition_flow(tp),
                    tp in self._rewinding,
                    prefix,
                )
                self._faust.reactivate(tp)
                stalled.append(tp)
        if stalled:
            await self._seek_to_prefix(stalled, "stalled")
        return stalled


def batching_transport(topics: frozenset[str]) -> type[KafkaTransport]:
    """The aiokafka transport with a consumer that batches ``topics``."""
    consumer = type("BatchingConsumer", (BatchingConsumer,), {"batched_topics": topics})
    return type("BatchingTransport", (KafkaTransport,), {"Consumer": consumer})
