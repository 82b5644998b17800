"""How far behind the MirrorMaker 2 link from a partner administration is, from its heartbeats.

MirrorMaker 2 writes a heartbeat every second to the ``heartbeats`` topic of each cluster it
replicates into, and replicates each cluster's ``heartbeats`` like any mirrored topic, keeping
the record's timestamp: ours holds the partner's as ``<alias>.heartbeats``. The age of the
newest of those is how stale the partner's messages here may be, whether the link is down,
MirrorMaker is stopped or it is falling behind. Its own latency metrics (``replication-latency-ms``,
``record-age-ms``) are JMX only; this needs nothing but a consumer on our cluster.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from pipeline.errors import KafkaUnavailable
from pipeline.kafka.reader import GROUP_PREFIX
from pipeline.settings import KafkaSettings, Settings

__all__ = ["heartbeats_topic", "link_lag_seconds"]

HEARTBEATS = "heartbeats"
_TIMEOUT_S = 10.0


def heartbeats_topic(source_alias: str) -> str:
    """The partner's heartbeats as MirrorMaker 2's default replication policy names them here."""
    return f"{source_alias}.{HEARTBEATS}"


class NewestTimestamps(Protocol):
    def __call__(self, kafka: KafkaSettings, topic: str) -> int | None:
        """The timestamp (ms since the epoch) of the newest record of ``topic``; None when the
        topic does not exist or holds nothing."""
        ...


def newest_timestamp_ms(kafka: KafkaSettings, topic: str) -> int | None:
    """Reads the last record of every partition of ``topic``, without joining a group."""
    consumer = Consumer(
        {
            **kafka.librdkafka_config(),
            "group.id": f"{GROUP_PREFIX}{uuid.uuid4()}",
            "enable.auto.commit": False,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=_TIMEOUT_S)
        described = metadata.topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
            return None
        last: list[TopicPartition] = []
        for partition in described.partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=_TIMEOUT_S
            )
            if high > low:
                last.append(TopicPartition(topic, partition, high - 1))
        if not last:
            return None
        consumer.assign(last)
        newest: int | None = None
        pending = {tp.partition for tp in last}
        deadline = time.monotonic() + _TIMEOUT_S
        while pending and time.monotonic() < deadline:
            for message in consumer.consume(len(pending), 1.0):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaUnavailable(f"reading {topic}: {error.str()}")
                pending.discard(message.partition())
                stamp = message.timestamp()[1]
                newest = stamp if newest is None else max(newest, stamp)
        return newest
    except KafkaException as exc:
        raise KafkaUnavailable(f"cannot read {topic}: {exc.args[0]}") from exc
    finally:
        consumer.close()


def link_lag_seconds(
    kafka_or_bootstrap: KafkaSettings | str,
    source_alias: str,
    newest: NewestTimestamps = newest_timestamp_ms,
    now: Callable[[], float] = time.time,
) -> float | None:
    """Seconds since the newest heartbeat from ``source_alias`` reached our cluster (the one
    ``kafka_or_bootstrap`` points at); None if none ever has (no link yet, or another
    replication policy). A healthy link stays at about the heartbeat interval, 1 s."""
    kafka = (
        Settings(kafka_bootstrap=kafka_or_bootstrap).kafka
        if isinstance(kafka_or_bootstrap, str)
        else kafka_or_bootstrap
    )
    stamp = newest(kafka, heartbeats_topic(source_alias))
    if stamp is None:
        return None
    # Clocks of the two administrations' machines differ a little: never a negative lag.
    return max(0.0, now() - stamp / 1000.0)
