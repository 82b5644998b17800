"""The worker's Faust application: two batch loops (screening, examination feedback) on one
producer, and its web pages.

A worker is made in three steps: its services start (``services.start_services``: rules and
reference data loaded and kept current), its app is built (``build_app``: tables, handlers,
agents, pages; no thread, no connection), and Faust's worker runs the app. Each loop takes a
batch of fetched records, hands them to its handler and stores what the handler made through
the checkpoint before the next batch (``loop``, ``checkpoint``), so no offset is committed past a
record whose outputs are not stored.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import faust
from faust.types import TransportT
from prometheus_client import generate_latest

from pipeline import metrics, topics
from pipeline.c2c.sending import Sharing, load_sharing
from pipeline.kafka.admin import ensure_topics, topic_ids
from pipeline.kafka.producer import OutputProducer
from pipeline.kafka.security import broker_credentials
from pipeline.screening.batch import Screener
from pipeline.screening.outcome import Thresholds
from pipeline.settings import Settings
from pipeline.topics import TopicSpec
from pipeline.worker.checkpoint import Checkpoint
from pipeline.worker.feedback import add_feedback, feedback_topics, join_table
from pipeline.worker.health import HealthTracker, liveness, readiness
from pipeline.worker.lag import LagMonitor
from pipeline.worker.ledger import TableLedger
from pipeline.worker.local_state import keep_tables_of
from pipeline.worker.loop import Batching, add_batch_agent
from pipeline.worker.screened_join import ScreenedJoin, handoff_topic
from pipeline.worker.screening_handler import ScreeningHandler
from pipeline.worker.services import WorkerServices, start_services
from pipeline.worker.startup import EvaluatorCache
from pipeline.worker.table_store import disk_table
from pipeline.worker.transport import batching_transport

__all__ = ["build_app", "create_app", "prepare_tables"]

VERSIONS_TABLE = "declaration-versions"
LAG_INTERVAL_S = 5.0

_METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"


class ScreeningApp(faust.App):
    """A Faust app whose consumer delivers declarations and the examination join's records
    one fetched partition batch at a time."""

    def _new_transport(self) -> TransportT:
        transport = batching_transport(
            frozenset({topics.DECLARATIONS, *feedback_topics(self.conf.id)})
        )
        return transport(self.conf.broker_consumer, self)


def create_app(settings: Settings) -> faust.App:
    """The worker's app, its services started. A broken agreement refuses the start before
    anything connects (``AgreementsInvalid``)."""
    sharing = load_sharing(settings.partners.agreements_dir, settings.partners.administration)
    return build_app(settings, sharing, start_services(settings, sharing))


def build_app(settings: Settings, sharing: Sharing, services: WorkerServices) -> faust.App:
    app = _faust_app(settings)
    app.on_before_shutdown.connect(lambda *_, **__: services.stop())
    # One producer for both loops: each checkpoint flushes it and takes its own table's
    # changelog offsets.
    partitions = settings.topics.partitions
    versions = TableLedger(disk_table(app, VERSIONS_TABLE, partitions))
    joins = join_table(app, partitions)
    producer = OutputProducer(
        settings.kafka, offsets_of=frozenset({versions.tables.changelog, joins.tables.changelog})
    )
    batching = Batching(4 * partitions, settings.batching.within_s)
    health = HealthTracker(LAG_INTERVAL_S)
    app.on_rebalance_complete.connect(lambda *_, **__: health.rebalance_completed())
    metrics_enabled = settings.worker.metrics_enabled
    lag = LagMonitor(settings, topics.DECLARATIONS) if metrics_enabled else None

    scoring = settings.scoring
    evaluators = EvaluatorCache(scoring, services.reference)
    screener = Screener(
        evaluators.for_ruleset(services.rules.current),
        max_message_bytes=settings.batching.max_message_bytes,
        thresholds=Thresholds(rfi=scoring.rfi_threshold, hrcm=scoring.hrcm_threshold),
        sharing=sharing,
    )
    handler = ScreeningHandler(
        screener,
        versions,
        services.rules,
        evaluators,
        ScreenedJoin(joins, partitions, handoff_topic(app.conf.id)),
        lag,
        on_screened=health.screened,
    )
    declarations = app.topic(
        topics.DECLARATIONS,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    # The screening batch writes the examination join's entries of its assessments too; the
    # feedback loop's checkpoint may store some of them first, under the same producer flush.
    screened = Checkpoint(producer, [versions.tables, joins.tables])
    add_batch_agent(app, declarations, "screen", handler, screened, batching)
    add_feedback(app, joins, partitions, metrics_enabled, producer, batching)

    if lag is not None:
        _measure_lag(app, lag, health)
    _add_pages(app, settings.worker.stall_timeout_s, services, health)
    return app


def _faust_app(settings: Settings) -> faust.App:
    worker, partitions = settings.worker, settings.topics.partitions
    return ScreeningApp(
        settings.topics.app_id,
        broker=[f"kafka://{server}" for server in settings.kafka.bootstrap],
        broker_credentials=broker_credentials(settings.kafka),
        # Tables on disk, one RocksDB database per partition (``table_store``).
        store="rocksdb://",
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=partitions,
        topic_replication_factor=settings.topics.replication_factor,
        consumer_auto_offset_reset=settings.topics.offset_reset,
        web_enabled=True,
        web_port=worker.web_port,
        web_bind=worker.web_host,
        datadir=str(worker.data_dir),
        # Outputs and the tables' changelogs go through the worker's own confluent-kafka
        # producer; Faust's producer carries only Faust's internal topics.
        producer_compression_type="lz4",
        # Each event is one partition's fetched records (batch_max / partitions at most); a
        # loop takes up to four events per partition at once: a backlog makes batches of a
        # few thousand, a trickle is handled batch_within_s after it comes, and the short queue
        # bounds memory when the loop is behind.
        broker_max_poll_records=max(1, settings.batching.max // partitions),
        stream_buffer_maxsize=4 * partitions,
        # Faust's 60 s default would leave a crashed worker's partitions idle for a minute.
        broker_session_timeout=worker.session_timeout_s,
        broker_heartbeat_interval=worker.heartbeat_interval_s,
    )


def _measure_lag(app: faust.App, monitor: LagMonitor, health: HealthTracker) -> None:
    @app.timer(interval=LAG_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def measure_lag() -> None:
        partitions = {
            tp.partition for tp in app.consumer.assignment() if tp.topic == topics.DECLARATIONS
        }
        lags = await asyncio.to_thread(monitor.update_metrics, partitions)
        if lags is not None:
            health.lag_measured(lags)


def _add_pages(
    app: faust.App, stall_timeout_s: float, services: WorkerServices, health: HealthTracker
) -> None:
    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        # aiohttp refuses a charset inside content_type; the exposition format is plain text.
        return web.bytes(generate_latest(metrics.REGISTRY), content_type=_METRICS_CONTENT_TYPE)

    @app.page("/readyz")
    async def ready_page(web: Any, request: Any) -> Any:
        failed = tuple(m.topic for m in services.mirrors if m.failed is not None)
        verdict = readiness(health.readiness_facts(services.rules.ready, failed))
        return web.json(verdict.as_json(), status=200 if verdict.ok else 503)

    @app.page("/livez")
    async def alive_page(web: Any, request: Any) -> Any:
        verdict = liveness(health.liveness_facts(app.rebalancing), stall_timeout_s)
        return web.json(verdict.as_json(), status=200 if verdict.ok else 503)


def changelog_topics(app: faust.App) -> tuple[TopicSpec, ...]:
    """The tables' changelog topics, as Faust creates them (compacted, one partition per table
    partition). Faust creates them as the worker starts, moments before it joins its group;
    a topic the broker has not yet listed is missing from the first assignment, appears at the
    consumer's next metadata refresh five minutes later, and forces a rebalance then. Created
    before the worker starts, they are there from the first assignment on."""
    return tuple(
        TopicSpec(
            table.changelog_topic.get_topic_name(),
            "table key",
            {"cleanup.policy": "compact"},
            partitions=table.partitions,
        )
        for table in app.tables.values()
    )


def handoff_spec(app_id: str, partitions: int) -> TopicSpec:
    """The examination join's hand-off topic of the group ``app_id`` (``screened_join``):
    partitioned as the declarations, kept as long as the assessments."""
    return TopicSpec(
        handoff_topic(app_id),
        "declaration_id",
        {
            "cleanup.policy": "delete",
            "retention.ms": topics.spec(topics.ASSESSMENTS).config["retention.ms"],
        },
        partitions=partitions,
    )


def prepare_tables(app: faust.App, settings: Settings) -> None:
    """Before the worker starts: its tables' changelog topics and its hand-off topic exist, and
    the copies of the tables in its folder are copies of those topics (``local_state``)."""
    specs = changelog_topics(app)
    ensure_topics(settings, (*specs, handoff_spec(app.conf.id, settings.topics.partitions)))
    keep_tables_of(
        Path(app.conf.tabledir),
        {table.name: table.changelog_topic.get_topic_name() for table in app.tables.values()},
        topic_ids(settings.kafka, [spec.name for spec in specs]),
    )
