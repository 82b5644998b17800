"""A Faust transport whose consumer hands each fetched partition batch to the agent as one event.

Faust moves every record from its consumer to an agent through per-event machinery (a task per
message, an Event, sensors, acks): about 4,000 records/s on two cores, whatever the agent does.
For the topics named in ``batched_topics`` this consumer wraps all the records fetched for one
partition in a single message, so that cost is paid once per fetch instead of once per record.
Faust's consumer group, rebalancing, flow control and commits stay as they are.

Commits: Faust commits up to the first offset that is not acknowledged. A batch message carries
the offset of its last record; when the agent has screened it, every offset from the committed
one up to that last record counts as acknowledged (the records in between were screened in
order, by this batch or the ones before it, and offsets without a record, such as transaction
markers, must not hold the commit back). Only batches the agent marked ``screened`` count:
Faust also acknowledges events it skips during a rebalance, and those are fetched again.
Faust's gap bookkeeping is not used for these topics: its intervals would overlap the batch
acknowledgements and stall its commit arithmetic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP, Message
from faust.types.tuples import ConsumerMessage, ack_lock


class RecordBatchMessage(ConsumerMessage):
    """One Faust message standing for every record fetched from a partition at once."""

    __slots__ = ("records", "screened")

    records: Sequence[Any]  # aiokafka ConsumerRecords, in offset order
    screened: bool


class BatchingConsumer(aiokafka_driver.Consumer):
    batched_topics: ClassVar[frozenset[str]] = frozenset()

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
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
            if tp.topic in self.batched_topics:
                yield tp, self._to_batch_message(tp, tp_records, generation_id)
            else:
                for record in tp_records:
                    yield tp, self._to_message(tp, record)

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
        return message

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        if tp.topic not in self.batched_topics:
            await super()._add_gap(tp, offset_from, offset_to)

    def ack(self, message: Message) -> bool:
        if not isinstance(message, RecordBatchMessage):
            return bool(super().ack(message))
        with ack_lock:
            if not message.screened:
                # Skipped by Faust (a rebalance), not screened: forget it, never commit past it.
                message.acked = True
                self._unacked_messages.discard(message)
                return False
            if not message.acked:
                self._ack_offsets_before(message)
            return bool(super().ack(message))

    def _ack_offsets_before(self, message: RecordBatchMessage) -> None:
        tp = message.tp
        committed = self._committed_offset.get(tp)
        start = committed if committed is not None else message.records[0].offset
        acked_index, acked = self._acked_index[tp], self._acked[tp]
        for offset in range(start, message.offset):
            if offset not in acked_index:
                acked_index.add(offset)
                acked.append(offset)


def batching_transport(topics: frozenset[str]) -> type[aiokafka_driver.Transport]:
    """The aiokafka transport with a consumer that batches ``topics``."""
    consumer = type("BatchingConsumer", (BatchingConsumer,), {"batched_topics": topics})
    return type("BatchingTransport", (aiokafka_driver.Transport,), {"Consumer": consumer})
