"""The archiver commits an offset only once the records before it are in a durable file."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from pipeline import topics
from pipeline.archive.consumer import Archiver, consumer_config
from pipeline.archive.read import records
from pipeline.archive.sources import subscription
from pipeline.settings import Settings
from tests.unit.archive.helpers import DAY1_MS, assessment_value


class FakeMessage:
    def __init__(
        self,
        topic: str,
        partition: int,
        offset: int,
        value: bytes | None = b"{}",
        error: KafkaError | None = None,
    ) -> None:
        self._topic, self._partition, self._offset = topic, partition, offset
        self._value, self._error = value, error

    def error(self) -> KafkaError | None:
        return self._error

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return f"K{self._offset}".encode()

    def value(self) -> bytes | None:
        return self._value

    def timestamp(self) -> tuple[int, int]:
        return 1, DAY1_MS  # TIMESTAMP_CREATE_TIME


class FakeConsumer:
    """Hands out the polls given, then nothing; records what was committed and when."""

    def __init__(self, root: Path, polls: list[list[FakeMessage]], fail_commits: int = 0) -> None:
        self.root = root
        self.polls = polls
        self.fail_commits = fail_commits
        self.commits: list[list[tuple[str, int, int]]] = []
        self.archived_at_commit: list[int] = []
        self.subscribed: list[str] = []
        self.closed = False
        self.on_revoke: Callable[..., None] | None = None
        self.when_empty: Callable[[], None] = lambda: None

    def subscribe(self, names: list[str], on_revoke: Callable[..., None]) -> None:
        self.subscribed, self.on_revoke = names, on_revoke

    def consume(self, num_messages: int, timeout: float) -> list[FakeMessage]:
        if self.polls:
            return self.polls.pop(0)
        self.when_empty()
        return []

    def commit(self, *, offsets: list[TopicPartition], asynchronous: bool) -> None:
        assert not asynchronous
        if self.fail_commits:
            self.fail_commits -= 1
            raise KafkaException(KafkaError(KafkaError.REBALANCE_IN_PROGRESS))
        self.commits.append([(tp.topic, tp.partition, tp.offset) for tp in offsets])
        # What a crash right after this commit would leave in the archive.
        self.archived_at_commit.append(len(list(records(self.root, topics.ASSESSMENTS))))

    def close(self) -> None:
        self.closed = True


def _archiver(consumer: FakeConsumer, **options: Any) -> Archiver:
    return Archiver(consumer.root, cast(Consumer, consumer), **options)


def _message(offset: int, partition: int = 0) -> FakeMessage:
    return FakeMessage(topics.ASSESSMENTS, partition, offset, assessment_value(f"D{offset}"))


def test_offsets_are_committed_after_the_files_every_n_records(tmp_path: Path) -> None:
    polls = [[_message(0), _message(1)], [_message(2), _message(0, 1)], [_message(3)]]
    fake = FakeConsumer(tmp_path, polls)
    stop = threading.Event()
    fake.when_empty = stop.set
    totals = _archiver(fake, flush_records=4, flush_seconds=3600).run(stop)

    assert fake.subscribed == subscription()
    assert fake.commits == [
        [(topics.ASSESSMENTS, 0, 3), (topics.ASSESSMENTS, 1, 1)],
        [(topics.ASSESSMENTS, 0, 4)],  # the rest, when stopping
    ]
    assert fake.archived_at_commit == [4, 5]
    assert fake.closed
    assert (totals.records, totals.batches) == (5, 2)


def test_a_batch_is_written_when_it_is_old_enough(tmp_path: Path) -> None:
    now = [0.0]
    fake = FakeConsumer(tmp_path, [[_message(0)]])
    archiver = _archiver(fake, flush_records=100, flush_seconds=5, clock=lambda: now[0])
    fake.subscribe([], lambda *a: None)
    archiver.poll_once()
    assert fake.commits == []
    now[0] = 5.0
    archiver.poll_once()
    assert fake.commits == [[(topics.ASSESSMENTS, 0, 1)]]


def test_a_failed_commit_loses_nothing(tmp_path: Path) -> None:
    fake = FakeConsumer(tmp_path, [[_message(0), _message(1)]], fail_commits=1)
    archiver = _archiver(fake, flush_records=2)
    archiver.poll_once()  # written, not committed: the group will read it again
    assert fake.commits == []
    # Read again from offset 0, cut elsewhere: the first file is replaced, nothing doubled.
    fake.polls = [[_message(0)], [_message(1), _message(2)]]
    archiver.flush_records = 1
    archiver.poll_once()
    archiver.flush_records = 2
    archiver.poll_once()
    assert [r.offset for r in records(tmp_path, topics.ASSESSMENTS)] == [0, 1, 2]


def test_a_revocation_writes_and_commits_what_is_pending(tmp_path: Path) -> None:
    fake = FakeConsumer(tmp_path, [[_message(0)]])
    stop = threading.Event()

    def revoke_then_stop() -> None:
        assert fake.on_revoke is not None
        fake.on_revoke(fake, [TopicPartition(topics.ASSESSMENTS, 0)])
        stop.set()

    fake.when_empty = revoke_then_stop
    _archiver(fake, flush_records=100).run(stop)
    assert fake.commits == [[(topics.ASSESSMENTS, 0, 1)]]


def test_errors_other_than_fatal_ones_do_not_stop_the_archiver(tmp_path: Path) -> None:
    eof = FakeMessage(topics.ASSESSMENTS, 0, 0, error=KafkaError(KafkaError._PARTITION_EOF))
    missing = FakeMessage(
        topics.DLQ, 0, 0, error=KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, "missing")
    )
    fake = FakeConsumer(tmp_path, [[eof, missing, missing, _message(0)]])
    archiver = _archiver(fake, flush_records=1)
    archiver.poll_once()
    assert fake.commits == [[(topics.ASSESSMENTS, 0, 1)]]

    fatal = FakeMessage(topics.ASSESSMENTS, 0, 0, error=KafkaError(KafkaError._FATAL, fatal=True))
    fake.polls = [[fatal]]
    with pytest.raises(Exception, match="archiving stopped"):
        archiver.poll_once()


def test_the_consumer_group_commits_by_hand() -> None:
    config = consumer_config(Settings(kafka_bootstrap="k:9092").kafka, "screening-archive")
    assert config["group.id"] == "screening-archive"
    assert config["enable.auto.commit"] is False
    assert config["auto.offset.reset"] == "earliest"
