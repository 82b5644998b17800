"""The archiver's metrics move as it writes and commits, and `screening archive run
--metrics-port` serves them."""

from __future__ import annotations

import signal
import socket
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from confluent_kafka import Consumer

from pipeline import topics
from pipeline.archive import metrics
from pipeline.archive.consumer import Archiver
from pipeline.cli import archive as archive_cli
from pipeline.cli.main import main
from tests.unit.archive.test_consumer import FakeConsumer, FakeMessage, _message

COUNTERS: tuple[tuple[str, dict[str, str]], ...] = (
    ("screening_archive_records_total", {"topic": topics.ASSESSMENTS}),
    ("screening_archive_records_total", {"topic": topics.HITS}),
    ("screening_archive_files_total", {}),
    ("screening_archive_bytes_total", {}),
    ("screening_archive_commit_failures_total", {}),
)


def _values() -> dict[str, float]:
    """The counters (by name and topic) and the gauge, now."""
    found = {
        f"{name}{labels.get('topic', '')}": metrics.REGISTRY.get_sample_value(name, labels) or 0.0
        for name, labels in COUNTERS
    }
    gauge = metrics.REGISTRY.get_sample_value("screening_archive_last_commit_timestamp_seconds")
    found["last_commit"] = gauge or 0.0
    return found


def _moved(before: dict[str, float]) -> dict[str, float]:
    """How much each counter moved since ``before``."""
    after = _values()
    return {name: after[name] - before[name] for name in before if name != "last_commit"}


def _archiver(fake: FakeConsumer, **options: Any) -> Archiver:
    return Archiver(fake.root, cast(Consumer, fake), **options)


def test_records_files_and_bytes_are_counted_and_the_commit_time_set(tmp_path: Path) -> None:
    metrics.LAST_COMMIT.set(0)
    hit = FakeMessage(topics.HITS, 0, 7, b"{}")
    fake = FakeConsumer(tmp_path, [[_message(0), _message(1), _message(0, 1), hit]])
    before = _values()
    _archiver(fake, flush_records=4).poll_once()

    moved = _moved(before)
    written = sorted(tmp_path.rglob("*.parquet"))
    assert len(written) == 3  # assessments partitions 0 and 1, hits partition 0
    assert moved == {
        f"screening_archive_records_total{topics.ASSESSMENTS}": 3,
        f"screening_archive_records_total{topics.HITS}": 1,
        "screening_archive_files_total": 3,
        "screening_archive_bytes_total": sum(p.stat().st_size for p in written),
        "screening_archive_commit_failures_total": 0,
    }
    assert fake.commits
    assert _values()["last_commit"] > 1_700_000_000


def test_a_failed_commit_is_counted_and_leaves_the_commit_time(tmp_path: Path) -> None:
    metrics.LAST_COMMIT.set(0)
    fake = FakeConsumer(tmp_path, [[_message(0), _message(1)]], fail_commits=1)
    archiver = _archiver(fake, flush_records=2)
    before = _values()
    archiver.poll_once()

    moved = _moved(before)
    # Written, so counted; not committed, so the archive is not durable up to here in Kafka.
    assert moved[f"screening_archive_records_total{topics.ASSESSMENTS}"] == 2
    assert moved["screening_archive_commit_failures_total"] == 1
    assert _values()["last_commit"] == 0

    fake.polls = [[_message(0), _message(1)]]
    archiver.poll_once()
    assert _moved(before)["screening_archive_commit_failures_total"] == 1
    assert _values()["last_commit"] > 0


def test_nothing_pending_moves_nothing(tmp_path: Path) -> None:
    metrics.LAST_COMMIT.set(0)
    fake = FakeConsumer(tmp_path, [])
    before = _values()
    _archiver(fake).flush()
    assert set(_moved(before).values()) == {0}
    assert _values()["last_commit"] == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_archive_run_serves_the_metrics_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _free_port()
    fake = FakeConsumer(tmp_path, [[_message(0)]])
    handlers: dict[int, Callable[..., None]] = {}
    # The command's SIGTERM handler, called by hand instead of replacing pytest's own.
    monkeypatch.setattr(
        signal, "signal", lambda number, handler: handlers.update({number: handler})
    )
    monkeypatch.setattr(Archiver, "connect", lambda *a, **options: _archiver(fake, **options))
    pages: list[str] = []

    def scrape_then_stop() -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
            pages.append(page.read().decode())
        handlers[signal.SIGTERM](signal.SIGTERM, None)

    fake.when_empty = scrape_then_stop
    argv = ["archive", "run", "--archive-dir", str(tmp_path), "--flush-records", "1"]
    assert main([*argv, "--metrics-port", str(port)]) == 0

    (page,) = pages
    assert f'screening_archive_records_total{{topic="{topics.ASSESSMENTS}"}}' in page
    assert "screening_archive_last_commit_timestamp_seconds" in page
    assert "process_cpu_seconds_total" in page  # the standard collectors
    # Closed when the archiver stopped: the port is free again.
    with socket.socket() as s:
        # Reusable: the scrape's connection may linger in TIME_WAIT; a listener would not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()


def test_archive_run_without_metrics_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeConsumer(tmp_path, [])
    handlers: dict[int, Callable[..., None]] = {}
    monkeypatch.setattr(
        signal, "signal", lambda number, handler: handlers.update({number: handler})
    )
    monkeypatch.setattr(Archiver, "connect", lambda *a, **o: _archiver(fake, **o))
    started: list[object] = []
    monkeypatch.setattr(archive_cli, "start_http_server", lambda *a, **k: started.append(a))
    fake.when_empty = lambda: handlers[signal.SIGTERM](signal.SIGTERM, None)
    assert main(["archive", "run", "--archive-dir", str(tmp_path), "--metrics-port", "0"]) == 0
    assert started == []
