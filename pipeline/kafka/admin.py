"""Create the pipeline's topics with their settings; safe to run again at any time."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

from pipeline.errors import KafkaUnavailable
from pipeline.kafka.security import check_access
from pipeline.settings import KafkaSettings, Settings
from pipeline.topics import TOPICS, TopicSpec

__all__ = ["admin_client", "ensure_topics", "existing_partitions", "topic_ids"]

_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class TopicReport:
    name: str
    partitions: int
    status: str  # created, exists, or a warning in plain words


def admin_client(kafka: KafkaSettings) -> AdminClient:
    return AdminClient(kafka.librdkafka_config())


def existing_partitions(admin: AdminClient, bootstrap: str = "") -> dict[str, int]:
    try:
        metadata = admin.list_topics(timeout=_TIMEOUT_S)
    except KafkaException as exc:
        raise KafkaUnavailable(f"cannot reach Kafka at {bootstrap}: {exc.args[0].str()}") from exc
    return {name: len(topic.partitions) for name, topic in metadata.topics.items()}


def ensure_topics(settings: Settings, specs: tuple[TopicSpec, ...] = TOPICS) -> list[TopicReport]:
    check_access(settings.kafka)
    admin = admin_client(settings.kafka)
    existing = existing_partitions(admin, settings.kafka.servers)
    reports: list[TopicReport] = []
    missing = [s for s in specs if s.name not in existing]
    if missing:
        futures = admin.create_topics(
            [
                NewTopic(
                    s.name,
                    num_partitions=s.partition_count(settings.topics.partitions),
                    replication_factor=settings.topics.replication_factor,
                    config=dict(s.config),
                )
                for s in missing
            ],
            operation_timeout=_TIMEOUT_S,
        )
        for name, future in futures.items():
            try:
                future.result()
            except KafkaException as exc:
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise KafkaUnavailable(f"cannot create {name}: {exc.args[0]}") from exc
    for s in specs:
        wanted = s.partition_count(settings.topics.partitions)
        if s.name not in existing:
            reports.append(TopicReport(s.name, wanted, "created"))
            continue
        _apply_config(admin, s)
        have = existing[s.name]
        status = "exists" if have == wanted else f"exists with {have} partitions (wanted {wanted})"
        reports.append(TopicReport(s.name, have, status))
    return reports


def _apply_config(admin: AdminClient, s: TopicSpec) -> None:
    """Bring an existing topic's settings to what the pipeline declares (idempotent)."""
    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        s.name,
        incremental_configs=[
            ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
            for k, v in s.config.items()
        ],
    )
    for future in admin.incremental_alter_configs([resource]).values():
        future.result()


def topic_ids(kafka: KafkaSettings, names: list[str]) -> dict[str, str]:
    """Kafka's id of each topic: a topic deleted and created again under the same name, or
    the same name on another cluster, has another id."""
    admin = admin_client(kafka)
    ids: dict[str, str] = {}
    deadline = time.monotonic() + _TIMEOUT_S
    while missing := [name for name in names if name not in ids]:
        futures = admin.describe_topics(TopicCollection(missing), request_timeout=_TIMEOUT_S)
        for name, future in futures.items():
            try:
                ids[name] = str(future.result().topic_id)
            except KafkaException as exc:
                # A topic created a moment ago may not be in the broker's metadata yet.
                just_created = exc.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART
                if not just_created or time.monotonic() > deadline:
                    raise KafkaUnavailable(f"cannot describe {name}: {exc.args[0]}") from exc
        if any(name not in ids for name in missing):
            time.sleep(0.2)
    return ids
