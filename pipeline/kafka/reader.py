"""Read a topic from the beginning with confluent-kafka, without joining a consumer group."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from pipeline.errors import KafkaAccessRefused, KafkaUnavailable, TopicMissing
from pipeline.kafka.security import check_access
from pipeline.records import InputRecord
from pipeline.settings import KafkaSettings

__all__ = ["GROUP_PREFIX", "TopicReader", "read_compacted"]

_METADATA_TIMEOUT_S = 15.0
# Every reader's consumer group starts so (one prefixed ACL covers them: pipeline/kafka/acls.py).
GROUP_PREFIX = "screening-reader-"


class TopicReader:
    """Assigns every partition of one topic at its start; ``caught_up`` turns True once
    every partition has been read to its end as it was when reading began."""

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self.topic = topic
        check_access(kafka)
        self._consumer = Consumer(
            {
                **kafka.librdkafka_config(),
                # A throwaway group id: offsets are never committed, nothing is shared.
                "group.id": f"{GROUP_PREFIX}{uuid.uuid4()}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
            }
        )
        try:
            metadata = self._consumer.list_topics(topic, timeout=_METADATA_TIMEOUT_S)
        except KafkaException as exc:
            raise KafkaUnavailable(f"cannot read {topic}: {exc.args[0]}") from exc
        described = metadata.topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
            self._consumer.close()
            error = described.error if described is not None else None
            if error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                raise KafkaAccessRefused(f"not allowed to read {topic}: {error.str()}")
            if error is not None and error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise KafkaUnavailable(f"cannot read {topic}: {error.str()}")
            raise TopicMissing(f"topic {topic} does not exist; run `screening topics ensure`")
        partitions = sorted(described.partitions)
        self._pending_eof = set(partitions)
        self._consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])

    @property
    def caught_up(self) -> bool:
        return not self._pending_eof

    def poll(self, timeout_s: float, max_records: int = 500) -> Iterator[InputRecord]:
        for message in self._consumer.consume(max_records, timeout_s):
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    self._pending_eof.discard(message.partition())
                    continue
                raise KafkaUnavailable(f"reading {self.topic}: {error.str()}")
            yield InputRecord(
                self.topic,
                message.key(),
                message.value(),
                message.partition() or 0,
                message.offset() or 0,
                message.timestamp()[1],
            )

    def close(self) -> None:
        self._consumer.close()


def read_compacted(kafka: KafkaSettings, topic: str) -> dict[bytes, bytes]:
    """What a compacted topic holds now: the last value of every key, tombstones applied."""
    reader = TopicReader(kafka, topic)
    live: dict[bytes, bytes] = {}
    try:
        while not reader.caught_up:
            for record in reader.poll(1.0):
                if record.key is None:
                    continue
                if record.value is None:
                    live.pop(record.key, None)
                else:
                    live[record.key] = record.value
    finally:
        reader.close()
    return live
