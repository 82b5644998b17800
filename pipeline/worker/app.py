"""The Faust application and its screening agent.

The agent stays thin: it takes a batch of events, hands the raw records to the Screener,
produces the outputs, and waits until Kafka has acknowledged all of them before asking for the
next batch. Faust acknowledges a batch's events only when the agent asks for the next one, so
no offset is committed past a declaration whose assessment is not stored.
"""

from __future__ import annotations

from typing import Any

import faust
from prometheus_client import generate_latest

from pipeline import metrics, topics
from pipeline.kafka.producer import OutputProducer
from pipeline.screening.batch import InputRecord, Screener
from pipeline.screening.outcome import Thresholds
from pipeline.settings import Settings
from pipeline.worker.batches import BatchHandler
from pipeline.worker.ledger import TableLedger
from pipeline.worker.startup import EvaluatorCache, start_reference, start_rules

VERSIONS_TABLE = "declaration-versions"

_METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.bootstrap_list()],
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        consumer_auto_offset_reset=settings.consumer_offset_reset,
        web_enabled=True,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        datadir=str(settings.data_dir),
        # Outputs are produced by our own confluent-kafka producer; Faust's producer only
        # writes the version table's changelog.
        producer_compression_type="lz4",
    )
    declarations = app.topic(
        topics.DECLARATIONS,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    versions = app.Table(
        VERSIONS_TABLE,
        default=None,
        partitions=settings.partitions,
        key_type=str,
        # Without a Faust model the table's changelog is JSON, keys and values.
    )
    reference, _reference_mirrors = start_reference(settings)
    rules, _rules_mirror = start_rules(settings)
    evaluators = EvaluatorCache(settings, reference)
    screener = Screener(
        evaluators.for_ruleset(rules.current),
        max_message_bytes=settings.max_message_bytes,
        thresholds=Thresholds(rfi=settings.rfi_threshold, hrcm=settings.hrcm_threshold),
    )
    batches = BatchHandler(
        screener, TableLedger(versions), OutputProducer(settings), rules, evaluators
    )

    @app.agent(declarations, name="screen", concurrency=1)
    async def screen(stream: faust.StreamT[bytes]) -> None:
        # take_events is missing from Faust's StreamT stubs; Stream implements it.
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.batch_max, within=settings.batch_within_s
        ):
            records = [
                InputRecord(
                    e.message.key,
                    e.message.value,
                    e.message.topic,
                    e.message.partition,
                    e.message.offset,
                )
                for e in events
            ]
            await batches.handle(records)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        # aiohttp refuses a charset inside content_type; the exposition format is plain text.
        return web.bytes(generate_latest(metrics.REGISTRY), content_type=_METRICS_CONTENT_TYPE)

    return app
