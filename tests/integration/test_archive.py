"""`screening archive run` through the real broker: filings screened by the session's worker
are archived (declarations, assessments, hits, dead letters, examination results); an
archiver killed with SIGKILL midway and started again loses nothing and, once the day is
compacted, holds every record once. The backtest and the SAFE report read the archive and
give what the worker and Kafka give."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from pipeline import topics
from pipeline.archive import read
from pipeline.records import InputRecord
from pipeline.rules.loader import load_ruleset
from pipeline.settings import Settings
from tests.factories import amendment, encode, filing
from tests.integration.conftest import ROOT, collect, key_prefix, publish

pytestmark = pytest.mark.integration

ARCHIVED = (
    topics.DECLARATIONS,
    topics.ASSESSMENTS,
    topics.HITS,
    topics.DLQ,
    topics.EXAMINATION_RESULTS,
)
FILINGS = 30


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "SCREENING_KAFKA_BOOTSTRAP": settings.kafka.servers,
        "SCREENING_RANDOM_SELECTION_SHARE": "0",
        "SCREENING_LOG_LEVEL": "info",
        "COLUMNS": "200",
    }


def _screening(settings: Settings, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=ROOT,
        env=_env(settings),
        capture_output=True,
        timeout=120,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _archiver(
    settings: Settings, archive: Path, group: str, log: Path, metrics_port: int
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "pipeline", "archive", "run"),
                *("--archive-dir", str(archive), "--group", group),
                *("--flush-records", "10", "--flush-seconds", "0.5"),
                *("--metrics-port", str(metrics_port)),
            ],
            cwd=ROOT,
            env=_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _mine(archive: Path, topic: str, prefix: bytes) -> list[tuple[int, int]]:
    return [
        (r.partition, r.offset)
        for r in read.records(archive, topic)
        if r.key is not None and r.key.startswith(prefix)
    ]


def _wait_archived(
    archive: Path, sent: dict[str, list[InputRecord]], prefix: bytes, timeout_s: float = 60
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(len(_mine(archive, t, prefix)) >= len(records) for t, records in sent.items()):
            return
        time.sleep(0.3)
    counts = {t: (len(_mine(archive, t, prefix)), len(r)) for t, r in sent.items()}
    pytest.fail(f"not archived within {timeout_s} s (archived, sent): {counts}")


def _wait_metrics(port: int, timeout_s: float = 10) -> None:
    """The archiver's /metrics counts records written and a commit (the last batch's commit
    may follow its files by a moment)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as page:
            exported = page.read().decode()
        written = re.findall(r"^screening_archive_records_total\{.*\} (\S+)$", exported, re.M)
        committed = re.search(
            r"^screening_archive_last_commit_timestamp_seconds [1-9]", exported, re.M
        )
        if sum(float(n) for n in written) > 0 and committed:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"no records or commit on /metrics:\n{exported}")
        time.sleep(0.3)


def test_the_archive_keeps_every_record_once_and_feeds_backtest_and_report(
    settings: Settings, worker: object, producer: Producer, run_id: str, tmp_path: Path
) -> None:
    archive, log = tmp_path / "archive", tmp_path / "archive.log"
    prefix = run_id.encode()
    # Half refer (HS 9306: arms, HRCM), half clear; two amended; one that is not JSON.
    documents = [
        filing(f"{run_id}-{n}", hs_code="930690" if n % 2 else "940360") for n in range(FILINGS)
    ]
    documents += [amendment(documents[0], 2, "930690"), amendment(documents[1], 2, "940360")]
    publish(producer, [encode(d) for d in documents])
    publish(producer, [(f"{run_id}-BAD".encode(), b"{not json")])
    assessments = collect(settings, topics.ASSESSMENTS, key_prefix(run_id), len(documents))
    assert len(assessments) == len(documents)
    produced = [orjson.loads(r.value) for r in assessments if r.value is not None]
    hrcm = sorted(a["declaration_id"] for a in produced if a["outcome"] == "HRCM")
    amended = {documents[0]["declaration_id"], documents[1]["declaration_id"]}
    examined = [i for i in hrcm if i not in amended][:3]
    for declaration_id in examined:
        result = {
            "declaration_id": declaration_id,
            "version": 1,
            "result": "SEIZURE",
            "examined_at": datetime.now(UTC).isoformat(),
            "officer_ref": "OFFICER-1",
        }
        producer.produce(topics.EXAMINATION_RESULTS, orjson.dumps(result), declaration_id.encode())
    assert producer.flush(30) == 0

    sent = {
        topic: collect(settings, topic, key_prefix(run_id), 1, timeout_s=30, settle_s=1.0)
        for topic in ARCHIVED
    }
    assert len(sent[topics.DECLARATIONS]) == len(documents) + 1
    assert len(sent[topics.DLQ]) == 1
    assert len(sent[topics.EXAMINATION_RESULTS]) == 3

    # Killed as soon as it has written something, before it could stop cleanly.
    group = f"screening-archive-{run_id}"
    first = _archiver(settings, archive, group, log, _free_port())
    try:
        deadline = time.monotonic() + 60
        while not any(archive.rglob("part-*.parquet")) and time.monotonic() < deadline:
            assert first.poll() is None, log.read_text()
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)

    port = _free_port()
    second = _archiver(settings, archive, group, log, port)
    try:
        _wait_archived(archive, sent, prefix)
        _wait_metrics(port)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, log.read_text()[-3000:]
    assert "stopped:" in log.read_text()

    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    done = _screening(
        settings, "archive", "compact", "--archive-dir", str(archive), "--before", tomorrow
    )
    assert done.returncode == 0, done.stderr.decode()
    for topic, records in sent.items():
        # Every record of Kafka once: the same partitions and offsets, nothing twice.
        archived = _mine(archive, topic, prefix)
        assert sorted(archived) == sorted((r.partition, r.offset) for r in records), topic
        for day in read.days(archive, topic):
            assert day.select("partition", "offset").is_duplicated().sum() == 0
    # Kept whole: the archived values are the bytes Kafka holds.
    values = {
        (r.partition, r.offset): r.value
        for r in read.records(archive, topics.ASSESSMENTS)
        if r.key is not None and r.key.startswith(prefix)
    }
    assert values == {(r.partition, r.offset): r.value for r in sent[topics.ASSESSMENTS]}

    stats = _screening(settings, "archive", "stats", "--archive-dir", str(archive), "--json")
    assert stats.returncode == 0, stats.stderr.decode()
    days = [orjson.loads(line) for line in stats.stdout.splitlines()]
    assert {d["topic"] for d in days} >= set(ARCHIVED)
    assert all(d["files"] == 1 for d in days)

    # The backtest screens the archived declarations as the worker did.
    today = datetime.now(UTC).date().isoformat()
    offline = tmp_path / "offline.jsonl"
    backtest = _screening(
        settings,
        "rules",
        "backtest",
        "--from-archive",
        str(archive),
        "--since",
        today,
        "--until",
        today,
        "--rules",
        str(ROOT / "rules"),
        "--assessments-out",
        str(offline),
        "--processes",
        "1",
        "--no-progress",
    )
    assert backtest.returncode == 0, backtest.stderr.decode()
    verdicts = {
        (v["declaration_id"], v["version"]): v
        for v in map(orjson.loads, offline.read_bytes().splitlines())
        if v["declaration_id"].startswith(run_id)
    }
    assert len(verdicts) == len(documents)
    version = load_ruleset(ROOT / "rules").version
    by_worker: dict[tuple[str, int], dict[str, Any]] = {
        (a["declaration_id"], a["version"]): a for a in produced
    }
    for key, verdict in verdicts.items():
        if by_worker[key]["ruleset_version"] == version:
            assert verdict["outcome"] == by_worker[key]["outcome"], key
            assert verdict["score"] == by_worker[key]["score"], key

    # The SAFE report from the archive counts what the report from Kafka counts.
    period = ["report", "safe", "--from", today, "--to", today, "--json"]
    from_kafka = _screening(settings, *period, "--bootstrap", settings.kafka.servers)
    from_archive = _screening(settings, *period, "--from-archive", str(archive))
    assert from_kafka.returncode == 0, from_kafka.stderr.decode()
    assert from_archive.returncode == 0, from_archive.stderr.decode()
    kafka_report, archive_report = (
        orjson.loads(from_kafka.stdout),
        orjson.loads(from_archive.stdout),
    )
    for report in (kafka_report, archive_report):
        report.pop("partner_topics")  # Kafka lists empty partner topics too
        report.pop("partners")
    assert archive_report == kafka_report
    assert archive_report["filings"]["screened"] >= FILINGS
    assert archive_report["filings"]["by_outcome"]["HRCM"]["count"] >= len(hrcm)
    assert archive_report["examinations"]["high_risk"]["results"]["SEIZURE"] >= 3
