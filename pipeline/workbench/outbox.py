"""Publish the outbox: records written with the changes they report, sent to Kafka in order.

A record is marked sent only after Kafka has acknowledged it, so a crash between the two sends
it again: consumers see at least once, and every record carries its own id (an event id, an
examination's declaration version, a clearance key) to tell a repeat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from confluent_kafka import KafkaError, Message, Producer

from pipeline.kafka.producer import producer_config
from pipeline.settings import KafkaSettings
from pipeline.workbench import metrics

log = logging.getLogger(__name__)

BATCH = 500
_IDLE_S = 0.2
_FLUSH_TIMEOUT_S = 30.0


class OutboxPublisher:
    def __init__(
        self, kafka: KafkaSettings, connect: Callable[[], psycopg.Connection[Any]]
    ) -> None:
        self._kafka = kafka
        self._connect = connect
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="workbench-outbox", daemon=True)
        self.failed: BaseException | None = None

    def start(self) -> OutboxPublisher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def wake(self) -> None:
        """Something was written to the outbox: publish it now rather than at the next tick."""
        self._wake.set()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        producer = Producer(producer_config(self._kafka))
        conn: psycopg.Connection[Any] | None = None
        try:
            while not self._stop.is_set():
                try:
                    if conn is None or conn.closed:
                        conn = self._connect()
                        conn.autocommit = True
                    sent = self.publish_once(conn, producer)
                    # The outbox is read several times a second: the database's steady probe.
                    metrics.DATABASE_UP.set(1)
                except psycopg.Error as exc:
                    metrics.DATABASE_UP.set(0)
                    log.warning("outbox: database unavailable: %s", exc)
                    if conn is not None:
                        conn.close()
                    conn = None
                    self._stop.wait(2.0)
                    continue
                if sent < BATCH:
                    self._wake.wait(_IDLE_S)
                    self._wake.clear()
        except Exception as exc:
            log.exception("outbox publisher stopped")
            self.failed = exc
        finally:
            producer.flush(5)
            if conn is not None:
                conn.close()

    def publish_once(self, conn: psycopg.Connection[Any], producer: Producer) -> int:
        """Send the oldest unsent records and mark those Kafka acknowledged; return how many."""
        rows = conn.execute(
            "SELECT outbox_id, topic, key, value FROM outbox WHERE published_at IS NULL"
            " ORDER BY outbox_id LIMIT %s",
            (BATCH,),
        ).fetchall()
        metrics.OUTBOX_PENDING.set(len(rows))
        if not rows:
            return 0
        acknowledged: list[int] = []
        failures: list[str] = []

        def report(outbox_id: int) -> Callable[[KafkaError | None, Message], None]:
            def on_delivery(error: KafkaError | None, message: Message) -> None:
                if error is None:
                    acknowledged.append(outbox_id)
                    metrics.OUTBOX_PUBLISHED.labels(message.topic()).inc()
                else:
                    failures.append(str(error))

            return on_delivery

        for outbox_id, topic, key, value in rows:
            producer.produce(
                topic,
                bytes(value) if value is not None else None,
                bytes(key) if key is not None else None,
                on_delivery=report(outbox_id),
            )
        producer.flush(_FLUSH_TIMEOUT_S)
        if acknowledged:
            conn.execute(
                "UPDATE outbox SET published_at = now() WHERE outbox_id = ANY(%s)",
                (acknowledged,),
            )
        if failures:
            log.warning(
                "outbox: %d records not acknowledged (%s); sent again", len(failures), failures[0]
            )
            self._stop.wait(1.0)
        return len(acknowledged)
