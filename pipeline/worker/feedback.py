"""The examination feedback agent: assessments joined with examination results, per rule.

Both topics are keyed by declaration id and have the worker's partition count, so Faust
assigns partition p of each, and of the join table's changelog, to the same worker: the
assessment and the examination result of a declaration version meet in one worker's table,
whichever comes first. Like the declarations, both topics reach the agent one fetched
partition batch per event (``FEEDBACK_TOPICS`` is batched by the worker's transport): there is
an assessment for every declaration, and Faust's per-event cost would take the event loop
away from screening.

The table (``join_table.TableJoinStore``) holds one short string per declaration version for
the assessments' retention. Its changelog records are acknowledged with the batch before the
batch's offsets can be committed, as for the version table: after a crash the batch is joined
again, and the join adds nothing for what it already holds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import faust

from pipeline import metrics, topics
from pipeline.feedback.feed import FeedResult, feed
from pipeline.kafka.producer import OutputProducer
from pipeline.records import InputRecord
from pipeline.settings import Settings
from pipeline.worker.all_or_nothing import run_batch
from pipeline.worker.join_table import HORIZON_DAYS, TableJoinStore, day_of, expected_partition
from pipeline.worker.table_store import disk_table
from pipeline.worker.transport import RecordBatchMessage

JOIN_TABLE = "examination-join"
EXPIRY_INTERVAL_S = 3600.0
FEEDBACK_TOPICS = frozenset({topics.ASSESSMENTS, topics.EXAMINATION_RESULTS})
log = logging.getLogger(__name__)


class FeedbackHandler:
    def __init__(
        self,
        store: TableJoinStore,
        producer: OutputProducer,
        partitions: int,
        metrics_enabled: bool = True,
    ) -> None:
        self._store = store
        self._producer = producer
        self._partitions = partitions
        self._metrics_enabled = metrics_enabled

    async def handle(self, records: Sequence[InputRecord]) -> None:
        await run_batch(self._join(records), "joining a batch of examination feedback")

    async def _join(self, records: Sequence[InputRecord]) -> None:
        routed = [r for r in records if self._routed_with_its_assessment(r)]
        result = feed(routed, self._store)
        await self._store.tables.write_through(self._producer)
        if self._metrics_enabled:
            metrics.record_feedback(result.tally, result.malformed)
        _log(result)

    def _routed_with_its_assessment(self, record: InputRecord) -> bool:
        """An examination result keyed into another partition than its declaration's
        assessments would be joined on the wrong worker: counted and logged, not joined."""
        if record.topic != topics.EXAMINATION_RESULTS or record.key is None:
            return True
        expected = expected_partition(record.key, self._partitions)
        if record.partition == expected:
            return True
        if self._metrics_enabled:
            metrics.EXAMINATION_RESULTS.labels("misrouted").inc()
        log.error(
            "examination result for %s at %s[%d]@%d belongs in partition %d: the producer "
            "must use Kafka's default (murmur2) partitioner. Not joined.",
            record.key[:64].decode("utf-8", "replace"),
            record.topic,
            record.partition,
            record.offset,
            expected,
        )
        return False


def register_feedback(app: faust.App, settings: Settings) -> None:
    """The join table and the agent that feeds it, on the worker's app."""
    source = app.topic(
        *sorted(FEEDBACK_TOPICS),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    store = TableJoinStore(disk_table(app, JOIN_TABLE, settings.partitions))
    handler = FeedbackHandler(
        store,
        OutputProducer(settings, offsets_of=frozenset({store.tables.changelog})),
        settings.partitions,
        settings.metrics_enabled,
    )

    @app.agent(source, name="feedback", concurrency=1)
    async def join_feedback(stream: faust.StreamT[bytes]) -> None:
        # take_events is missing from Faust's StreamT stubs; Stream implements it.
        async for events in stream.take_events(  # type: ignore[attr-defined]
            4 * settings.partitions, within=settings.batch_within_s
        ):
            fetched: list[RecordBatchMessage] = [e.message for e in events]
            await handler.handle(
                [
                    InputRecord(r.topic, r.key, r.value, r.partition, r.offset, r.timestamp)
                    for message in fetched
                    for r in message.records
                ]
            )
            for message in fetched:
                message.screened = True

    @app.timer(interval=EXPIRY_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def expire_join_entries() -> None:
        expired = await store.expire(day_of(None) - HORIZON_DAYS)
        if expired:
            log.info(
                "examination join: %d entries older than %d days expired", expired, HORIZON_DAYS
            )
            if settings.metrics_enabled:
                metrics.FEEDBACK_ENTRIES_EXPIRED.inc(expired)


def _log(result: FeedResult) -> None:
    for notice in result.notices:
        log.warning(_MESSAGES[notice.kind], notice.where, notice.detail)
    if result.unreadable_assessments:
        log.warning(
            "%d records of %s are not assessments the pipeline wrote; skipped",
            result.unreadable_assessments,
            topics.ASSESSMENTS,
        )


_MESSAGES: dict[str, str] = {
    "examination_waiting": "examination result for %s (%s) has no assessment of that version "
    "yet; it is held until one arrives",
    "examination_conflict": "examination result for %s (%s) differs from the one already "
    "counted for that version; not applied",
    "examination_malformed": "examination result at %s is not usable (%s); skipped",
}
