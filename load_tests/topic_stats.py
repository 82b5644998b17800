"""What the harness reads from the broker: end offsets, output windows, consumer-group lag."""

from __future__ import annotations

import time
import uuid
from functools import cache

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    OffsetSpec,
)

from load_tests.results import OutputWindow
from pipeline.settings import Settings

_TIMEOUT_S = 30.0


def _consumer(settings: Settings) -> Consumer:
    return Consumer(
        {
            **settings.kafka.librdkafka_config(),
            "group.id": f"bench-stats-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """The end offset of every partition, in one request; retried while a topic just created
    has no leader yet."""
    admin = _admin(settings.kafka.servers)
    deadline = time.monotonic() + _TIMEOUT_S
    while True:
        try:
            metadata = admin.list_topics(topic, timeout=_TIMEOUT_S).topics[topic]
            request = {
                TopicPartition(topic, p): OffsetSpec.latest()  # type: ignore[no-untyped-call]
                for p in sorted(metadata.partitions)
            }
            found = admin.list_offsets(request, request_timeout=_TIMEOUT_S)
            return {tp.partition: future.result().offset for tp, future in found.items()}
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@cache
def _admin(bootstrap: str) -> AdminClient:
    return AdminClient(Settings(kafka_bootstrap=bootstrap).kafka.librdkafka_config())


def count_since(settings: Settings, topic: str, start: dict[int, int]) -> int:
    return sum(end - start.get(p, 0) for p, end in end_offsets(settings, topic).items())


def _timestamps_at(settings: Settings, topic: str, offsets: dict[int, int]) -> dict[int, int]:
    """The timestamp of the record at each given offset, by partition."""
    if not offsets:
        return {}
    consumer = _consumer(settings)
    found: dict[int, int] = {}
    try:
        consumer.assign([TopicPartition(topic, p, o) for p, o in offsets.items()])
        deadline = time.monotonic() + _TIMEOUT_S
        while len(found) < len(offsets) and time.monotonic() < deadline:
            for message in consumer.consume(len(offsets), 1.0):
                partition = message.partition()
                if message.error() is None and partition is not None and partition not in found:
                    found[partition] = message.timestamp()[1]
                    consumer.pause([TopicPartition(topic, partition)])
    finally:
        consumer.close()
    return found


def output_window(settings: Settings, topic: str, start: dict[int, int]) -> OutputWindow:
    """Records written to ``topic`` past ``start``: their count and first and last timestamps."""
    end = end_offsets(settings, topic)
    written = {p: (start.get(p, 0), e) for p, e in end.items() if e > start.get(p, 0)}
    if not written:
        return OutputWindow(0, None, None)
    firsts = _timestamps_at(settings, topic, {p: s for p, (s, _) in written.items()})
    lasts = _timestamps_at(settings, topic, {p: e - 1 for p, (_, e) in written.items()})
    return OutputWindow(
        sum(e - s for s, e in written.values()),
        min(firsts.values()) if firsts else None,
        max(lasts.values()) if lasts else None,
    )


def create_output_topic(settings: Settings, name: str, partitions: int) -> None:
    """A baseline's output topic, stamped by the broker like the pipeline's on the bench."""
    admin = AdminClient(settings.kafka.librdkafka_config())
    futures = admin.create_topics(
        [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=1,
                config={"message.timestamp.type": "LogAppendTime"},
            )
        ],
        operation_timeout=_TIMEOUT_S,
    )
    for future in futures.values():
        future.result()


def use_log_append_time(settings: Settings, names: list[str]) -> None:
    """Let the broker stamp records as it appends them, so that every variant's outputs are
    timed by one clock whatever its client puts in the record (Quix Streams, for one, copies
    the input's timestamp)."""
    admin = AdminClient(settings.kafka.librdkafka_config())
    resources = [
        ConfigResource(
            ConfigResource.Type.TOPIC,
            name,
            incremental_configs=[
                ConfigEntry(
                    "message.timestamp.type",
                    "LogAppendTime",
                    incremental_operation=AlterConfigOpType.SET,
                )
            ],
        )
        for name in names
    ]
    for future in admin.incremental_alter_configs(resources).values():
        future.result()


def group_lag(settings: Settings, group: str, topic: str) -> int | None:
    """Messages of ``topic`` not yet committed by ``group``; None before its first commit."""
    admin = _admin(settings.kafka.servers)
    request = [ConsumerGroupTopicPartitions(group)]
    committed_by_group = admin.list_consumer_group_offsets(request)[group].result(
        timeout=_TIMEOUT_S
    )
    committed = {
        tp.partition: tp.offset
        for tp in committed_by_group.topic_partitions
        if tp.topic == topic and tp.offset >= 0
    }
    if not committed:
        return None
    ends = end_offsets(settings, topic)
    return int(sum(end - committed.get(partition, 0) for partition, end in ends.items()))
