"""The examination feedback handler: examination results joined with assessments, per rule.

Examination results are keyed by declaration id and have the worker's partition count, as the
declarations and assessments do, so Faust assigns partition p of each, and of the join table's
changelog, to the same worker. The worker that screens a declaration joins its assessment there
in the screening batch (``screened_join``); the assessment of a declaration screened in another
partition than its key's arrives here on the group's hand-off topic. Either side may come first.
Both topics reach the agent one fetched partition batch per event (the worker's transport
batches them) and run through the worker's one batch loop (``loop``).

The table (``join_table.TableJoinStore``) holds one short string per declaration version for
the assessments' retention. Its changelog records are acknowledged with the batch before the
batch's offsets can be committed (``checkpoint``), as for the version table: after a crash the
batch is joined again, and the join adds nothing for what it already holds.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import faust

from pipeline import metrics, topics
from pipeline.feedback.feed import FeedResult, feed
from pipeline.kafka.partitioning import expected_partition
from pipeline.records import InputRecord
from pipeline.worker.checkpoint import Checkpoint, Producer
from pipeline.worker.join_table import HORIZON_DAYS, TableJoinStore, day_of
from pipeline.worker.loop import Batching, Handled, add_batch_agent
from pipeline.worker.screened_join import handoff_topic
from pipeline.worker.table_store import disk_table

JOIN_TABLE = "examination-join"
EXPIRY_INTERVAL_S = 3600.0
log = logging.getLogger(__name__)


class FeedbackHandler:
    what = "joining a batch of examination feedback"

    def __init__(
        self,
        store: TableJoinStore,
        partitions: int,
        metrics_enabled: bool = True,
    ) -> None:
        self._store = store
        self._partitions = partitions
        self._metrics_enabled = metrics_enabled

    async def handle(self, records: Sequence[InputRecord]) -> Handled:
        routed = [r for r in records if self._routed_with_its_assessment(r)]
        result = feed(routed, self._store)
        # The join's outputs are its table writes, which the checkpoint stores.
        return Handled((), functools.partial(self._report, result))

    def _report(self, result: FeedResult, elapsed_s: float) -> None:
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


def feedback_topics(app_id: str) -> tuple[str, ...]:
    """What the feedback loop of the worker group ``app_id`` reads."""
    return (topics.EXAMINATION_RESULTS, handoff_topic(app_id))


def join_table(app: faust.App, partitions: int) -> TableJoinStore:
    return TableJoinStore(disk_table(app, JOIN_TABLE, partitions))


def add_feedback(
    app: faust.App,
    store: TableJoinStore,
    partitions: int,
    metrics_enabled: bool,
    producer: Producer,
    batching: Batching,
) -> None:
    """The batch loop that feeds the join table ``store``, with ``producer``, on the worker's
    app, and the timer that expires its old entries."""
    source = app.topic(
        *feedback_topics(app.conf.id),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    handler = FeedbackHandler(store, partitions, metrics_enabled)
    checkpoint = Checkpoint(producer, [store.tables])
    add_batch_agent(app, source, "feedback", handler, checkpoint, batching)

    @app.timer(interval=EXPIRY_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def expire_join_entries() -> None:
        expired = await store.expire(day_of(None) - HORIZON_DAYS)
        if expired:
            log.info(
                "examination join: %d entries older than %d days expired", expired, HORIZON_DAYS
            )
            if metrics_enabled:
                metrics.FEEDBACK_ENTRIES_EXPIRED.inc(expired)


def _log(result: FeedResult) -> None:
    for notice in result.notices:
        log.warning(_MESSAGES[notice.kind], notice.where, notice.detail)
    if result.unreadable_assessments:
        log.warning(
            "%d records of the examination join's hand-off topic are not assessments the "
            "pipeline wrote; skipped",
            result.unreadable_assessments,
        )


_MESSAGES: dict[str, str] = {
    "examination_waiting": "examination result for %s (%s) has no assessment of that version "
    "yet; it is held until one arrives",
    "examination_conflict": "examination result for %s (%s) differs from the one already "
    "counted for that version; not applied",
    "examination_malformed": "examination result at %s is not usable (%s); skipped",
}
