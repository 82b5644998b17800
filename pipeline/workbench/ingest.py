"""Hits, assessments, the filers' responses and partner administrations' messages from Kafka
into the case store, exactly once.

The consumer joins its own group (partners' topics by pattern, so that a partner's topic created
later is read without a restart), but the position that counts is the one kept in PostgreSQL:
each batch is applied in one transaction that also records the next offset of every partition
it read, and a partition assigned to this workbench starts from there. Offsets are committed
to Kafka afterwards too, only so that the group's lag can be watched. A batch the database
refuses is read again from its first offsets once the database answers.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from pipeline import topics
from pipeline.settings import Settings
from pipeline.workbench import intake, metrics, partner_inbound, partners, responses
from pipeline.workbench.referrals import decode_hit, referral_from_hit

log = logging.getLogger(__name__)

INGESTED_TOPICS = (topics.HITS, topics.ASSESSMENTS, topics.REFERRAL_RESPONSES)
BATCH_MAX = 500
PATTERN_REFRESH_MS = 30_000
_RETRY_S = (0.5, 1.0, 2.0, 5.0)

Connect = Callable[[], psycopg.Connection[Any]]


class Ingest:
    """A thread that applies hits, assessments, responses and partners' messages to the case
    store."""

    def __init__(
        self, settings: Settings, connect: Connect, exchange: partners.Exchange | None = None
    ) -> None:
        self._settings = settings
        self._exchange = exchange or partners.Exchange.from_settings(settings)
        self._connect = connect
        self._retention = timedelta(days=settings.workbench.case_retention_days)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="workbench-ingest", daemon=True)
        self._conn: psycopg.Connection[Any] | None = None
        self.last_batch_at: float | None = None  # monotonic time of the last applied batch
        self.failed: BaseException | None = None
        self.database_ok = False

    def start(self) -> Ingest:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def alive(self) -> bool:
        return self._thread.is_alive()

    # --- the loop ------------------------------------------------------------------------

    def _run(self) -> None:
        consumer = Consumer(
            {
                **self._settings.kafka.librdkafka_config(),
                "group.id": self._settings.workbench.group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": False,
                # How soon a partner's topic created after the start is found by the pattern.
                "topic.metadata.refresh.interval.ms": PATTERN_REFRESH_MS,
            }
        )
        try:
            consumer.subscribe(
                [*INGESTED_TOPICS, partners.INBOUND_PATTERN], on_assign=self._on_assign
            )
            failures = 0
            while not self._stop.is_set():
                messages = consumer.consume(num_messages=BATCH_MAX, timeout=0.5)
                records = [m for m in messages if self._usable(m)]
                if not records:
                    continue
                try:
                    applied = self._apply(records)
                except psycopg.Error as exc:
                    failures += 1
                    self.database_ok = False
                    metrics.DATABASE_UP.set(0)
                    metrics.INGEST_FAILURES.inc()
                    self._drop_connection()
                    log.warning("case store refused a batch, reading it again: %s", exc)
                    _rewind(consumer, records)
                    self._stop.wait(_RETRY_S[min(failures, len(_RETRY_S)) - 1])
                    continue
                failures = 0
                self.database_ok = True
                metrics.DATABASE_UP.set(1)
                self.last_batch_at = time.monotonic()
                consumer.commit(offsets=applied, asynchronous=True)
        except Exception as exc:
            log.exception("ingest stopped")
            self.failed = exc
        finally:
            consumer.close()
            self._drop_connection()

    def _usable(self, message: Message) -> bool:
        error = message.error()
        if error is None:
            return True
        if error.code() != KafkaError._PARTITION_EOF:
            log.warning("consumer: %s", error)
        return False

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start every assigned partition where the case store says it was read to."""
        while not self._stop.is_set():
            try:
                stored = self._stored_offsets()
                break
            except psycopg.Error as exc:
                self.database_ok = False
                self._drop_connection()
                log.warning("case store unavailable, waiting to start reading: %s", exc)
                self._stop.wait(2.0)
        else:
            return
        for tp in partitions:
            tp.offset = stored.get((tp.topic, tp.partition), OFFSET_BEGINNING)
        consumer.assign(partitions)

    # --- the database side ---------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def _stored_offsets(self) -> dict[tuple[str, int], int]:
        conn = self._connection()
        with conn.transaction():
            rows = conn.execute(
                "SELECT topic, partition, next_offset FROM kafka_offsets WHERE consumer = %s",
                (self._settings.workbench.group,),
            ).fetchall()
        return {(row[0], row[1]): row[2] for row in rows}

    def _apply(self, records: list[Message]) -> list[TopicPartition]:
        """Apply one batch in one transaction; return the offsets to commit to Kafka."""
        next_offsets: dict[tuple[str, int], int] = {}
        assessments: list[dict[str, Any]] = []
        effects: dict[tuple[str, str], int] = {}
        delays: list[float] = []
        conn = self._connection()
        with conn.transaction():
            # Hits before responses and partners' messages: a response or a partner's result
            # that comes in the batch of its referral's hit finds the case.
            for message in sorted(records, key=_apply_order):
                topic, partition, offset = _position(message)
                next_offsets[(topic, partition)] = offset + 1
                effect = self._apply_one(conn, message, assessments, delays)
                effects[(topic, effect)] = effects.get((topic, effect), 0) + 1
            kept = intake.record_assessments(conn, assessments)
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO kafka_offsets (consumer, topic, partition, next_offset)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (consumer, topic, partition)"
                    " DO UPDATE SET next_offset = EXCLUDED.next_offset",
                    [
                        (self._settings.workbench.group, topic, partition, offset)
                        for (topic, partition), offset in next_offsets.items()
                    ],
                )
        now = datetime.now(UTC).timestamp()
        for assessed_at in delays:
            metrics.INGEST_DELAY.observe(max(0.0, now - assessed_at))
        for (topic, effect), count in effects.items():
            metrics.INGESTED.labels(topic, effect).inc(count)
        if kept:
            metrics.INGESTED.labels(topics.ASSESSMENTS, "kept").inc(kept)
        return [TopicPartition(t, p, o) for (t, p), o in next_offsets.items()]

    def _apply_one(
        self,
        conn: psycopg.Connection[Any],
        message: Message,
        assessments: list[dict[str, Any]],
        delays: list[float],
    ) -> str:
        value = message.value()
        if partners.is_inbound_topic(message.topic()):
            return partner_inbound.apply_inbound(conn, self._exchange, value, _position(message))
        if message.topic() == topics.REFERRAL_RESPONSES:
            return responses.apply_response(conn, value, message.key(), _position(message))
        if message.topic() == topics.ASSESSMENTS:
            if value is None:
                return "tombstone"
            try:
                assessments.append(orjson.loads(value))
            except orjson.JSONDecodeError:
                return "malformed"
            return "read"
        key = message.key()
        if value is None:
            if key is None:
                return "malformed"
            closed = intake.apply_withdrawal(conn, key.decode("utf-8", "replace"), self._retention)
            return "withdrawn" if closed else "tombstone"
        try:
            decoded = decode_hit(value)
            referral = referral_from_hit(decoded.hit, decoded.declaration, decoded.declaration_json)
        except (ValueError, KeyError, TypeError):
            log.warning(
                "hit at %s[%d]@%d is not a hit; skipped",
                message.topic(),
                message.partition(),
                message.offset(),
            )
            return "malformed"
        delays.append(referral.assessed_at.timestamp())
        return intake.apply_hit(conn, referral)


def _apply_order(message: Message) -> int:
    if partners.is_inbound_topic(message.topic()):
        return 2
    return 1 if message.topic() == topics.REFERRAL_RESPONSES else 0


def _rewind(consumer: Consumer, records: list[Message]) -> None:
    """Seek every partition of a failed batch back to the batch's first record."""
    first: dict[tuple[str, int], int] = {}
    for message in records:
        topic, partition, offset = _position(message)
        first[(topic, partition)] = min(first.get((topic, partition), offset), offset)
    for (topic, partition), offset in first.items():
        try:
            consumer.seek(TopicPartition(topic, partition, offset))
        except Exception as exc:  # the partition moved away meanwhile: its next owner reads it
            log.info("no seek on %s[%d]: %s", topic, partition, exc)


def _position(message: Message) -> tuple[str, int, int]:
    """Topic, partition and offset of a consumed record (never None for a record)."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    assert topic is not None
    assert partition is not None
    assert offset is not None
    return topic, partition, offset
