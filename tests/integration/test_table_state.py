"""The worker's tables on disk: a restart reads only the changelog written since it stopped,
and a copy of a changelog topic that is gone is thrown away instead of trusted."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from pipeline import topics
from pipeline.kafka.reader import TopicReader
from pipeline.settings import Settings
from pipeline.worker.app import VERSIONS_TABLE
from tests.factories import amendment, encode, filing
from tests.integration.conftest import (
    TEST_PARTITIONS,
    collect,
    key_prefix,
    publish,
    spawn_worker,
    wait_committed,
)


def _screen_first_version(
    settings: Settings, workdir: Path, app_id: str, producer: Producer, run_id: str
) -> dict[str, object]:
    """Version 1 screened by a worker that then stops cleanly, its offsets committed."""
    worker = spawn_worker(settings, workdir, app_id=app_id, log_name="first.log")
    try:
        declaration = filing(f"{run_id}-D")
        publish(producer, [encode(declaration)])
        collect(settings, topics.ASSESSMENTS, key_prefix(run_id), expected=1)
        wait_committed(settings, app_id, topics.DECLARATIONS)
    finally:
        worker.stop()
    return declaration


def _versions_after_second(
    settings: Settings, app_id: str, producer: Producer, first: dict[str, object]
) -> list[int]:
    """Version 2 is sent; returns the versions this worker's table holds for the declaration
    once it has screened it, as written to its own changelog. (Other tests' workers screen
    the same topic, so the assessments topic would not tell whose table answered.)"""
    publish(producer, [encode(amendment(first, 2, "940360"))])
    key = orjson.dumps(first["declaration_id"])
    reader = TopicReader(settings.kafka, _changelog(app_id))
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            for record in reader.poll(0.5):
                if record.key == key and record.value is not None:
                    versions: list[int] = orjson.loads(record.value)["versions"]
                    if 2 in versions:
                        return versions
    finally:
        reader.close()
    raise AssertionError("version 2 did not reach the worker's table within 60 s")


def _changelog(app_id: str) -> str:
    return f"{app_id}-{VERSIONS_TABLE}-changelog"


def test_a_restart_keeps_its_tables_without_reading_the_changelog_again(
    settings: Settings, tmp_path: Path, producer: Producer, run_id: str, workers: list
) -> None:
    """The changelog's records are deleted while the worker is stopped; the version it saw
    before is still known after the restart, so it came from the worker's disk."""
    app_id = f"tables-{uuid.uuid4().hex[:8]}"
    first = _screen_first_version(settings, tmp_path, app_id, producer, run_id)

    changelog = _changelog(app_id)
    consumer = Consumer({**settings.kafka.librdkafka_config(), "group.id": f"{app_id}-look"})
    ends = [
        TopicPartition(
            changelog,
            p,
            consumer.get_watermark_offsets(TopicPartition(changelog, p), timeout=10)[1],
        )
        for p in range(TEST_PARTITIONS)
    ]
    consumer.close()
    assert sum(tp.offset for tp in ends) >= 1
    admin = AdminClient(settings.kafka.librdkafka_config())
    # Kafka deletes records only from a topic with the delete policy; the worker sets the
    # changelog's policy back to compact when it starts.
    policy = ConfigResource(
        ConfigResource.Type.TOPIC,
        changelog,
        incremental_configs=[
            ConfigEntry(
                "cleanup.policy", "compact,delete", incremental_operation=AlterConfigOpType.SET
            )
        ],
    )
    for future in admin.incremental_alter_configs([policy]).values():
        future.result()
    for future in admin.delete_records(ends, request_timeout=15).values():
        future.result()

    worker = spawn_worker(settings, tmp_path, app_id=app_id, log_name="second.log")
    workers.append(worker)
    assert _versions_after_second(settings, app_id, producer, first) == [1, 2]
    assert "rebuilt from the changelog" not in worker.log_path.read_text()


def test_a_changelog_created_again_replaces_the_copy_on_disk(
    settings: Settings, tmp_path: Path, producer: Producer, run_id: str, workers: list
) -> None:
    """The changelog topic is deleted while the worker is stopped (as when a cluster is
    reset): the worker starts, discards its copy, and holds what the new changelog holds."""
    app_id = f"tables-{uuid.uuid4().hex[:8]}"
    first = _screen_first_version(settings, tmp_path, app_id, producer, run_id)

    admin = AdminClient(settings.kafka.librdkafka_config())
    for future in admin.delete_topics([_changelog(app_id)], operation_timeout=30).values():
        future.result()
    deadline = time.monotonic() + 30
    while _changelog(app_id) in admin.list_topics(timeout=10).topics:
        assert time.monotonic() < deadline, "the changelog topic was not deleted"
        time.sleep(0.5)

    worker = spawn_worker(settings, tmp_path, app_id=app_id, log_name="second.log")
    workers.append(worker)
    assert _versions_after_second(settings, app_id, producer, first) == [2]
    assert f"table {VERSIONS_TABLE}: the copy in" in worker.log_path.read_text()
