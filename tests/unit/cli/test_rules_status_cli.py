"""`screening rules status`, the rules topic and the status topic faked: which rule set each
worker screens with, against the latest published one."""

from __future__ import annotations

import time

import orjson
import pytest

from pipeline import topics
from pipeline.cli import rules_status
from pipeline.cli.main import main
from pipeline.rules.publish import MANIFEST_KEY
from pipeline.settings import Settings
from pipeline.worker.status import WorkerStatus, timestamp

LATEST = "rs-222222222222"
OLDER = "rs-111111111111"


def _status(worker: str, version: str, seen_ago_s: float, refused: tuple[str, ...] = ()) -> bytes:
    now = time.time()
    return WorkerStatus(
        worker=worker,
        group="customs-screening",
        ruleset_version=version,
        ruleset_source="topic",
        taken_up_at=timestamp(now - 3600),
        latest_seen=LATEST,
        refused=refused,
        started_at=timestamp(now - 7200),
        reported_at=timestamp(now - seen_ago_s),
        interval_s=30.0,
    ).to_json()


@pytest.fixture
def on_topics(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[bytes, bytes]]:
    monkeypatch.setenv("SCREENING_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    held: dict[str, dict[bytes, bytes]] = {
        topics.RULES: {
            MANIFEST_KEY.encode(): orjson.dumps(
                {
                    "ruleset_version": LATEST,
                    "rules": {},
                    "published_by": "ana",
                    "published_at": "2027-01-12T09:14:03Z",
                }
            )
        },
        topics.WORKER_STATUS: {
            b"w1:6066": _status("w1:6066", LATEST, 5),
            b"w2:6066": _status("w2:6066", OLDER, 12, refused=(LATEST,)),
            b"w3:6066": _status("w3:6066", OLDER, 400),
        },
    }

    def read(settings: Settings, topic: str) -> dict[bytes, bytes]:
        return dict(held[topic])

    monkeypatch.setattr(rules_status, "read_compacted", read)
    return held


def test_the_table_shows_each_worker_against_the_latest(
    on_topics: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "status"]) == 0
    captured = capsys.readouterr()
    assert f"latest published rule set: {LATEST}, by ana at 2027-01-12T09:14:03Z" in captured.err
    rows = {line.split()[1]: line for line in captured.out.splitlines() if " w" in line[:4]}
    assert " yes " in rows["w1:6066"]
    assert " no " in rows["w2:6066"]
    assert LATEST in rows["w2:6066"], "the refused version is shown"
    assert "stale" in rows["w3:6066"]
    assert "stale" not in rows["w1:6066"] + rows["w2:6066"]
    assert (
        "2 workers reporting, 1 not on the latest rule set; 1 stale (not heard from for three "
        "heartbeats)"
    ) in captured.err


def test_json_gives_the_same_for_scripts(
    on_topics: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "status", "--json"]) == 0
    document = orjson.loads(capsys.readouterr().out)
    assert document["latest"]["ruleset_version"] == LATEST
    workers = {w["worker"]: w for w in document["workers"]}
    assert [(w["latest"], w["stale"]) for w in workers.values()] == [
        (True, False),
        (False, False),
        (False, True),
    ]
    assert workers["w2:6066"]["refused"] == [LATEST]
    assert workers["w1:6066"]["ruleset_version"] == LATEST


def test_no_worker_and_nothing_published(
    on_topics: dict[str, dict[bytes, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    on_topics[topics.RULES].clear()
    on_topics[topics.WORKER_STATUS].clear()
    assert main(["rules", "status"]) == 0
    err = capsys.readouterr().err
    assert "latest published rule set: none" in err
    assert f"no worker has reported on {topics.WORKER_STATUS}" in err


def test_a_bad_argument_is_one_line_and_exit_code_2(
    on_topics: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "status", "--jsn"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--jsn" in err[0]
