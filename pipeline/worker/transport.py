"""A Faust transport whose consumer hands each fetched partition batch to the agent as one event.

Faust moves every record from its consumer to an agent through per-event machinery (a task per
message, an Event, sensors, acks): about 4,000 records/s on two cores, whatever the agent does.
For the topics named in ``batched_topics`` this consumer wraps all the records fetched for one
partition in a single message, so that cost is paid once per fetch instead of once per record.
Faust's consumer group, rebalancing, flow control and commits stay as they are.

Commits: a commit must never pass a record that was not screened. Faust's own bookkeeping
allows that: it commits the first run of acknowledged offsets wherever that run starts when a
partition has no committed offset yet, records skipped during a rebalance (fetched while the flow
is stopped) leave the fetch position past them, and the seek to the committed offsets after a
rebalance does nothing for a partition without one. So for the batched topics this consumer
keeps its own account (``ScreenedOffsets``): after every rebalance it seeks each partition to its
committed offset, or to where the reset policy says when there is none; a screened batch
acknowledges only the offsets that extend the partition's screened prefix (records, and offsets
the consumer read past because they hold none, such as transaction markers); a batch skipped
unscreened, or screened beyond a hole, sends the partition back to the end of its prefix, so that
what was skipped, and everything after it, is fetched and screened again in order. Faust's gap
bookkeeping is not used for these topics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, ClassVar

from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP, Message
from faust.types.tuples import ConsumerMessage, ack_lock
from mode.utils.futures import notify

from pipeline.worker.screened_offsets import ScreenedOffsets

log = logging.getLogger(__name__)


class RecordBatchMessage(ConsumerMessage):
    """One Faust message standing for every record fetched from a partition at once."""

    __slots__ = ("records", "screened", "seek_epoch")

    records: Sequence[Any]  # aiokafka ConsumerRecords, in offset order
    screened: bool
    seek_epoch: int  # the consumer's seek epoch when the records were fetched


class BatchingConsumer(aiokafka_driver.Consumer):
    batched_topics: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._screened_offsets = ScreenedOffsets()
        # Raised after every seek of a batched partition: records fetched before it may come
        # from the old position and are not delivered.
        self._seek_epoch = 0
        self._last_delivered: dict[TP, int] = {}
        self._rewinding: dict[TP, asyncio.Future[None]] = {}

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        epoch = self._seek_epoch
        records, active_partitions = await self._wait_next_records(timeout)
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
                and tp not in self._buffered_partitions
            ):
                continue
            if tp.topic not in self.batched_topics:
                for record in tp_records:
                    yield tp, self._to_message(tp, record)
            elif epoch == self._seek_epoch:
                delivered.add(tp)
                self._note_delivery(tp, tp_records[0].offset, tp_records[-1].offset)
                yield tp, self._to_batch_message(tp, tp_records, generation_id)
        # Records fetched and not delivered (fetched before a seek, or cut off by a rebalance)
        # left the fetch position past them: read them again.
        dropped = [
            tp
            for tp, tp_records in records.items()
            if tp_records and tp.topic in self.batched_topics and tp not in delivered
        ]
        if dropped:
            await self._seek_to_prefix(dropped)

    async def _seek_to_prefix(self, tps: Sequence[TP]) -> None:
        assigned = self.assignment()
        starts: dict[TP, int] = {}
        for tp in tps:
            start = self._screened_offsets.next_offset(tp)
            if start is not None and tp in assigned:
                starts[tp] = start
            else:  # the next assignment seeks it
                self._last_delivered.pop(tp, None)
        await self._seek_batched(starts)

    def _note_delivery(self, tp: TP, first: int, last: int) -> None:
        """The consumer read ``tp`` on from the last batch delivered (or from where it was
        sought): offsets in between hold no record."""
        previous = self._last_delivered.get(tp)
        if previous is not None and first > previous + 1:
            self._screened_offsets.no_records(tp, previous + 1, first - 1)
        self._last_delivered[tp] = last

    def _to_batch_message(
        self, tp: TP, records: Sequence[Any], generation_id: int
    ) -> RecordBatchMessage:
        last = records[-1]
        message = RecordBatchMessage(
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
        message.screened = False
        message.seek_epoch = self._seek_epoch
        return message

    async def perform_seek(self) -> None:
        await super().perform_seek()
        assigned = {tp for tp in self.assignment() if tp.topic in self.batched_topics}
        self._screened_offsets.keep_only(assigned)
        starts = {tp: self._committed_offset.get(tp) for tp in assigned}
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
                await self._seek(tp, offset)
            except Exception as exc:  # no longer assigned: its next assignment seeks it
                log.warning("seek of %s to %d failed: %r", tp, offset, exc)
                self._last_delivered.pop(tp, None)
                continue
            # Faust drops a delivered message whose offset is not above the read offset.
            self._read_offset[tp] = offset - 1 if offset > 0 else None
            self._last_delivered[tp] = offset - 1
            self._screened_offsets.start(tp, offset)
        if starts:
            self._seek_epoch += 1

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        if tp.topic not in self.batched_topics:
            await super()._add_gap(tp, offset_from, offset_to)

    def ack(self, message: Message) -> bool:
        if not isinstance(message, RecordBatchMessage):
            return bool(super().ack(message))
        with ack_lock:
            if message.acked:
                return False
            message.acked = True
            self._unacked_messages.discard(message)
            tp = message.tp
            # A seek since the batch was fetched, or a new generation (whose assignment seeks),
            # already sends the partition back before anything unscreened.
            current = (
                message.seek_epoch == self._seek_epoch
                and message.generation_id == self.app.consumer_generation_id
            )
            if not message.screened:
                # Skipped by Faust (a rebalance, a stopped flow): never commit past it.
                if current:
                    self._rewind(tp)
                return False
            first = message.records[0].offset
            if self._screened_offsets.beyond_prefix(tp, first):
                # Screened past a hole: read again from the hole on, this batch included.
                if current:
                    self._rewind(tp)
                return False
            settled = self._screened_offsets.screened(tp, first, message.offset)
            if not settled:
                return False
            acked_index, acked = self._acked_index[tp], self._acked[tp]
            for offset in settled:
                if offset not in acked_index:
                    acked_index.add(offset)
                    acked.append(offset)
            self._n_acked += len(settled)
            notify(self._waiting_for_ack)
            return True

    def _rewind(self, tp: TP) -> None:
        """Read ``tp`` again from the end of its screened prefix."""
        target = self._screened_offsets.next_offset(tp)
        if target is None or tp in self._rewinding or tp not in self.assignment():
            return
        self._rewinding[tp] = asyncio.ensure_future(self._seek_back(tp, target))

    async def _seek_back(self, tp: TP, offset: int) -> None:
        try:
            log.warning(
                "records of %s after offset %d were skipped; reading them again", tp, offset
            )
            await self._seek_to_prefix([tp])
        finally:
            self._rewinding.pop(tp, None)


def batching_transport(topics: frozenset[str]) -> type[aiokafka_driver.Transport]:
    """The aiokafka transport with a consumer that batches ``topics``."""
    consumer = type("BatchingConsumer", (BatchingConsumer,), {"batched_topics": topics})
    return type("BatchingTransport", (aiokafka_driver.Transport,), {"Consumer": consumer})
