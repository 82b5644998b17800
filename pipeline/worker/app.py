"""The Faust application and its screening agent.

The agent stays thin: it takes a batch of events, hands the raw records to the Screener,
produces the outputs, and waits until Kafka has acknowledged all of them before asking for the
next batch. Faust acknowledges a batch's events only when the agent asks for the next one, so
no offset is committed past a declaration whose assessment is not stored.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

import faust
from faust.types import TransportT
from prometheus_client import generate_latest

from pipeline import metrics, topics
from pipeline.c2c.link import link_lag_seconds
from pipeline.c2c.link_metrics import LinkLagSampler
from pipeline.c2c.sending import load_sharing
from pipeline.kafka.admin import ensure_topics, topic_ids
from pipeline.kafka.producer import OutputProducer
from pipeline.kafka.security import broker_credentials
from pipeline.records import InputRecord
from pipeline.screening.batch import Screener
from pipeline.screening.outcome import Thresholds
from pipeline.settings import Settings
from pipeline.topics import TopicSpec
from pipeline.worker.batches import BatchHandler
from pipeline.worker.feedback import FEEDBACK_TOPICS, register_feedback
from pipeline.worker.health import HealthTracker, liveness, readiness
from pipeline.worker.lag import LagMonitor
from pipeline.worker.ledger import TableLedger
from pipeline.worker.local_state import keep_tables_of
from pipeline.worker.memory import settle_long_lived_objects
from pipeline.worker.startup import EvaluatorCache, start_reference, start_rules
from pipeline.worker.state_metrics import WorkerStateCollector
from pipeline.worker.status import StatusReporter, snapshot_of
from pipeline.worker.table_store import disk_table
from pipeline.worker.transport import RecordBatchMessage, batching_transport

VERSIONS_TABLE = "declaration-versions"
LAG_INTERVAL_S = 5.0

_METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"


class ScreeningApp(faust.App):
    """A Faust app whose consumer delivers declarations, assessments and examination results
    one fetched partition batch at a time."""

    def _new_transport(self) -> TransportT:
        transport = batching_transport(frozenset({topics.DECLARATIONS, *FEEDBACK_TOPICS}))
        return transport(self.conf.broker_consumer, self)


def create_app(settings: Settings) -> faust.App:
    # First: a broken agreement refuses the start before anything connects (AgreementsInvalid).
    sharing = load_sharing(settings.agreements_dir, settings.administration)
    app = ScreeningApp(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.bootstrap_list()],
        broker_credentials=broker_credentials(settings),
        # Tables on disk, one RocksDB database per partition (``table_store``).
        store="rocksdb://",
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        consumer_auto_offset_reset=settings.consumer_offset_reset,
        web_enabled=True,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        datadir=str(settings.data_dir),
        # Outputs and the version table's changelog go through the worker's own confluent-kafka
        # producer; Faust's producer carries only Faust's internal topics.
        producer_compression_type="lz4",
        # Each event is one partition's fetched records (batch_max / partitions at most); the
        # agent takes up to four events per partition at once: a backlog makes batches of a
        # few thousand, a trickle is screened within batch_within_s, and the short queue bounds
        # memory when the agent is behind.
        broker_max_poll_records=max(1, settings.batch_max // settings.partitions),
        stream_buffer_maxsize=4 * settings.partitions,
        # Faust's 60 s default would leave a crashed worker's partitions idle for a minute.
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
    )
    declarations = app.topic(
        topics.DECLARATIONS,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    ledger = TableLedger(disk_table(app, VERSIONS_TABLE, settings.partitions))
    reference, reference_mirrors = start_reference(settings, sharing.agreements)
    rules, rules_mirror, published = start_rules(settings)
    status = StatusReporter(settings, snapshot_of(settings, rules, published)).start()
    published.subscribe(status.changed)
    app.on_before_shutdown.connect(lambda *_, **__: status.stop())
    settle_long_lived_objects()
    evaluators = EvaluatorCache(settings, reference)
    screener = Screener(
        evaluators.for_ruleset(rules.current),
        max_message_bytes=settings.max_message_bytes,
        thresholds=Thresholds(rfi=settings.rfi_threshold, hrcm=settings.hrcm_threshold),
        sharing=sharing,
    )
    lag = LagMonitor(settings, topics.DECLARATIONS) if settings.metrics_enabled else None
    producer = OutputProducer(settings, offsets_of=frozenset({ledger.tables.changelog}))
    batches = BatchHandler(screener, ledger, producer, rules, evaluators, lag)
    if settings.metrics_enabled:
        metrics.register_state(WorkerStateCollector(rules, reference, reference_mirrors, published))
        links = LinkLagSampler(
            [agreement.alias for agreement in sharing.agreements],
            functools.partial(link_lag_seconds, settings),
        ).start()
        metrics.register_links(links)
        app.on_before_shutdown.connect(lambda *_, **__: links.stop())

    health = HealthTracker(LAG_INTERVAL_S)
    app.on_rebalance_complete.connect(lambda *_, **__: health.rebalance_completed())

    @app.agent(declarations, name="screen", concurrency=1)
    async def screen(stream: faust.StreamT[bytes]) -> None:
        # take_events is missing from Faust's StreamT stubs; Stream implements it.
        async for events in stream.take_events(  # type: ignore[attr-defined]
            4 * settings.partitions, within=settings.batch_within_s
        ):
            fetched: list[RecordBatchMessage] = [e.message for e in events]
            records = [
                InputRecord(r.topic, r.key, r.value, r.partition, r.offset, r.timestamp)
                for message in fetched
                for r in message.records
            ]
            await batches.handle(records)
            health.screened()
            for message in fetched:
                message.screened = True

    register_feedback(app, settings)

    if lag is not None:
        monitor = lag

        @app.timer(interval=LAG_INTERVAL_S)  # type: ignore[untyped-decorator]
        async def measure_lag() -> None:
            partitions = {
                tp.partition for tp in app.consumer.assignment() if tp.topic == topics.DECLARATIONS
            }
            lags = await asyncio.to_thread(monitor.update_metrics, partitions)
            if lags is not None:
                health.lag_measured(lags)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        # aiohttp refuses a charset inside content_type; the exposition format is plain text.
        return web.bytes(generate_latest(metrics.REGISTRY), content_type=_METRICS_CONTENT_TYPE)

    @app.page("/readyz")
    async def ready_page(web: Any, request: Any) -> Any:
        mirrors = (*reference_mirrors, rules_mirror)
        failed = tuple(m.topic for m in mirrors if m.failed is not None)
        verdict = readiness(health.readiness_facts(rules.ready, failed))
        return web.json(verdict.as_json(), status=200 if verdict.ok else 503)

    @app.page("/livez")
    async def alive_page(web: Any, request: Any) -> Any:
        verdict = liveness(health.liveness_facts(app.rebalancing), settings.stall_timeout_s)
        return web.json(verdict.as_json(), status=200 if verdict.ok else 503)

    return app


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


def prepare_tables(app: faust.App, settings: Settings) -> None:
    """Before the worker starts: its tables' changelog topics exist, and the copies of the
    tables in its folder are copies of those topics (``local_state``)."""
    specs = changelog_topics(app)
    ensure_topics(settings, specs)
    keep_tables_of(
        Path(app.conf.tabledir),
        {table.name: table.changelog_topic.get_topic_name() for table in app.tables.values()},
        topic_ids(settings, [spec.name for spec in specs]),
    )
