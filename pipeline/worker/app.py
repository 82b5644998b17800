"""The Faust application and its screening agent.

The agent stays thin: it takes a batch of events, hands the raw records to the Screener,
produces the outputs, and waits until Kafka has acknowledged all of them before asking for the
next batch. Faust acknowledges a batch's events only when the agent asks for the next one, so
no offset is committed past a declaration whose assessment is not stored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any, NoReturn

import faust
from prometheus_client import generate_latest

from pipeline import metrics, topics
from pipeline.kafka.producer import OutputProducer
from pipeline.screening.batch import InputRecord, Screener
from pipeline.screening.builtin import BuiltinChecks
from pipeline.settings import Settings
from pipeline.worker.ledger import TableLedger

VERSIONS_TABLE = "declaration-versions"
# EX_SOFTWARE: a supervisor (systemd, Kubernetes) restarts the worker, which screens the
# uncommitted batch again.
EXIT_BATCH_FAILED = 70
log = logging.getLogger(__name__)
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
        consumer_auto_offset_reset="earliest",
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
    screener = Screener(BuiltinChecks(), max_message_bytes=settings.max_message_bytes)
    ledger = TableLedger(versions)
    producer = OutputProducer(settings)

    @app.agent(declarations, name="screen", concurrency=1)
    async def screen(stream: faust.StreamT[bytes]) -> None:
        # take_events is missing from Faust's StreamT stubs; Stream implements it.
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.batch_max, within=settings.batch_within_s
        ):
            started = time.perf_counter()
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
            try:
                result = screener.screen(records, ledger)
                producer.produce(result.outputs)
                await _delivered(producer)
            except Exception:
                # Faust acknowledges a batch's events when its generator is closed, whatever
                # the reason; stopping here, before that, is what keeps them uncommitted.
                _fail_stop("screening a batch failed; stopping so that it is screened again")
            metrics.record_batch(len(records), result, time.perf_counter() - started, time.time())

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        # aiohttp refuses a charset inside content_type; the exposition format is plain text.
        return web.bytes(generate_latest(metrics.REGISTRY), content_type=_METRICS_CONTENT_TYPE)

    return app


async def _delivered(producer: OutputProducer) -> None:
    """Wait until Kafka holds every output of the batch, even if the worker is stopping.

    Cancellation (a shutdown or a rebalance) must not interrupt the wait: the batch's events
    are acknowledged as soon as the agent leaves its loop, and their offsets then committed.
    """
    flushing = asyncio.ensure_future(producer.flush())
    try:
        await asyncio.shield(flushing)
    except asyncio.CancelledError:
        await flushing
        raise


def _fail_stop(message: str) -> NoReturn:
    log.critical(message, exc_info=True)
    logging.shutdown()
    os._exit(EXIT_BATCH_FAILED)
