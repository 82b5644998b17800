"""The worker's status record on customs.worker.status.v1: what it says, when it is sent (a
fake producer), and how `screening rules status` judges it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from pipeline import topics
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.loader import load_ruleset
from pipeline.rules.publish import MANIFEST_KEY, ruleset_records
from pipeline.rules.source import PublishedRules, RuleSetHolder
from pipeline.settings import Settings
from pipeline.worker.status import (
    StatusReporter,
    WorkerStatus,
    snapshot_of,
    timestamp,
    worker_id,
    worker_views,
)

RULE = """\
id: A
version: {version}
title: t
owner: o
reason: r
review_by: 2099-01-01
mode: active
action: RFI
score: 30
when: {{any_goods: {{hs_chapter: '93'}}}}
cases: {{match: [{{goods: [{{hs_code: '930690'}}]}}]}}
"""


def _status(worker: str, version: str | None, reported: float, interval_s: float = 30.0) -> bytes:
    return WorkerStatus(
        worker=worker,
        group="customs-screening",
        ruleset_version=version,
        ruleset_source="topic",
        taken_up_at=timestamp(reported - 100),
        latest_seen=version,
        refused=(),
        started_at=timestamp(reported - 200),
        reported_at=timestamp(reported),
        interval_s=interval_s,
    ).to_json()


def test_a_record_reads_back_as_written() -> None:
    raw = _status("w1:6066", "rs-a", 1_800_000_000.0)
    status = WorkerStatus.from_json(raw)
    assert status is not None
    assert status.to_json() == raw
    assert orjson.loads(raw)["reported_at"] == "2027-01-15T08:00:00.000Z"
    assert WorkerStatus.from_json(b"not json") is None
    assert WorkerStatus.from_json(b'{"worker": "w"}') is None


def test_views_say_latest_and_stale_after_three_heartbeats() -> None:
    now = 1_800_000_000.0
    records = {
        b"w2:6066": _status("w2:6066", "rs-old", now - 10),
        b"w1:6066": _status("w1:6066", "rs-new", now - 89),
        b"w3:6066": _status("w3:6066", "rs-new", now - 91),
        b"junk": b"[]",
    }
    views = worker_views(records, "rs-new", now)
    assert [(v.status.worker, v.latest, v.stale) for v in views] == [
        ("w1:6066", True, False),
        ("w2:6066", False, False),
        ("w3:6066", True, True),
    ]
    assert views[0].as_json()["last_seen_s"] == 89.0
    assert all(not v.latest for v in worker_views(records, None, now))


@pytest.fixture
def settings() -> Settings:
    return Settings(web_port=6123, app_id="group-a", worker_status_interval_s=1.0)


def _with_interval(settings: Settings, interval_s: float) -> Settings:
    worker = settings.worker.model_copy(update={"status_interval_s": interval_s})
    return settings.model_copy(update={"worker": worker})


class FakeProducer:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes]] = []
        self.flushed = 0
        self.sent = threading.Event()

    def produce(
        self, topic: str, value: bytes | None, key: bytes, on_delivery: Callable[..., None]
    ) -> None:
        self.records.append((topic, value, key))
        self.sent.set()

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        self.flushed += 1
        return 0


def _wait_for(producer: FakeProducer, count: int, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(producer.records) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(producer.records) >= count


def test_the_reporter_sends_at_start_on_change_and_a_tombstone_at_stop(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "a.yaml").write_text(RULE.format(version=1))
    ruleset = load_ruleset(tmp_path)
    holder = RuleSetHolder()
    published = PublishedRules(holder.replace)
    producer = FakeProducer()
    # A long heartbeat: what is sent here is sent because of a start or a change.
    slow = _with_interval(settings, 3600.0)
    reporter = StatusReporter(slow, snapshot_of(slow, holder, published), producer).start()
    published.subscribe(reporter.changed)
    _wait_for(producer, 1)
    first = WorkerStatus.from_json(producer.records[0][1] or b"")
    assert first is not None
    assert first.ruleset_version is None

    for key, value in ruleset_records(ruleset, []):
        published.apply(key.encode(), value)
    _wait_for(producer, 2)
    taken = WorkerStatus.from_json(producer.records[1][1] or b"")
    assert taken is not None
    assert taken.worker == worker_id(slow.worker) == f"{worker_id(slow.worker).split(':')[0]}:6123"
    assert taken.group == "group-a"
    assert (taken.ruleset_version, taken.ruleset_source) == (ruleset.version, "topic")
    assert taken.latest_seen == ruleset.version
    assert taken.taken_up_at is not None

    broken = {"ruleset_version": "rs-broken", "rules": {"A": 9}, "lists": []}
    published.apply(b"A", orjson.dumps({"id": "A", "version": 9, "action": "EXPLODE"}))
    published.apply(MANIFEST_KEY.encode(), orjson.dumps(broken))
    _wait_for(producer, 3)
    refused = WorkerStatus.from_json(producer.records[2][1] or b"")
    assert refused is not None
    assert refused.ruleset_version == ruleset.version
    assert refused.latest_seen == "rs-broken"
    assert refused.refused == ("rs-broken",)

    reporter.stop()
    topic, value, key = producer.records[-1]
    assert (topic, value, key) == (topics.WORKER_STATUS, None, worker_id(slow.worker).encode())
    assert producer.flushed == 1
    sent = len(producer.records)
    reporter.stop()  # a second stop sends nothing more
    assert len(producer.records) == sent


def test_the_reporter_beats_at_its_interval(settings: Settings) -> None:
    holder = RuleSetHolder()
    published = PublishedRules(holder.replace)
    producer = FakeProducer()
    fast = _with_interval(settings, 1.0)
    reporter = StatusReporter(fast, snapshot_of(fast, holder, published), producer).start()
    try:
        _wait_for(producer, 3, timeout_s=4.0)
    finally:
        reporter.stop()


def test_a_set_from_the_folder_is_reported_as_such(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(RULE.format(version=1))
    holder = RuleSetHolder()
    holder.replace(CompiledRuleSet(load_ruleset(tmp_path)))
    status = snapshot_of(settings, holder, PublishedRules(holder.replace))()
    assert status.ruleset_source == "folder"
    assert status.latest_seen is None
    assert status.interval_s == 1.0


def test_a_producer_that_fails_does_not_stop_the_reporter(settings: Settings) -> None:
    class Full(FakeProducer):
        def produce(
            self, topic: str, value: bytes | None, key: bytes, on_delivery: Callable[..., None]
        ) -> None:
            raise BufferError("queue full")

    holder = RuleSetHolder()
    reporter = StatusReporter(
        settings, snapshot_of(settings, holder, PublishedRules(holder.replace)), Full()
    ).start()
    reporter.changed()
    reporter.stop()
    assert reporter.sent == 0
