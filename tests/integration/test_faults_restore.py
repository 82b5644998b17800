"""The worker's tables restored from their changelog topics alone: a worker whose state folder
is gone (a lost disk, a new machine) rebuilds the version table and the examination join from
Kafka before it screens, and redelivered older versions are recognised as superseded.
(test_table_state.py covers the opposite cases: a restart that trusts its folder, and a folder
thrown away because its changelog topic is gone.)"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from load_tests.worker_metrics import samples
from pipeline import topics
from pipeline.worker.app import VERSIONS_TABLE
from pipeline.worker.feedback import JOIN_TABLE
from tests.factories import encode, filing
from tests.integration.conftest import WorkerProcess, spawn_worker
from tests.integration.faults import (
    ASSESSED_TIMEOUT_S,
    COMMIT_TIMEOUT_S,
    Message_,
    Sent,
    audit,
    check,
    fault_results,
    own_broker,
    publish_all,
    read_all,
    report,
    wait_for_assessments,
    wait_for_commits,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]

DECLARATIONS = 40
REFERRAL, CLEAR = "930690", "940360"


@pytest.fixture
def results_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fault_results(tmp_path_factory)


def _labelled(worker: WorkerProcess, name: str) -> dict[str, float]:
    """The non-zero samples of a counter of the worker's /metrics with one label, by the
    label's value."""
    found = samples(worker.web_port, name)
    return {next(iter(labels.values())): value for labels, value in found if value}


def _examination(declaration_id: str, version: int) -> Message_:
    result = {
        "declaration_id": declaration_id,
        "version": version,
        "result": "NO_FINDING",
        "examined_at": "2026-11-21T08:00:00.000Z",
    }
    return declaration_id.encode(), orjson.dumps(result)


@pytest.mark.timeout(300)
def test_tables_come_back_from_their_changelogs_into_an_empty_state_folder(
    tmp_path: Path,
    workers: list[WorkerProcess],
    results_file: Path,
    record_property: Any,
) -> None:
    """A worker screens versions 1 and 2 of 40 declarations (referrals closed by version 2,
    and the reverse), commits, and stops; its state folder is deleted. A new worker of the same
    group starts with an empty folder; version 1 of each declaration is sent again, and an
    examination result of each version 2. The versions are known (version 1 is superseded by
    2, no hit raised) and the join's entries too (the first worker joined the assessments in
    the screening batches it committed), so both tables came back from their changelogs."""
    prefix = f"RESTORE-{uuid.uuid4().hex[:8]}-"
    first_versions = [
        filing(f"{prefix}{i}", 1, REFERRAL if i % 2 else CLEAR) for i in range(DECLARATIONS)
    ]
    second_versions = [
        filing(f"{prefix}{i}", 2, CLEAR if i % 2 else REFERRAL) for i in range(DECLARATIONS)
    ]
    sent = Sent()
    for document in first_versions + second_versions:
        sent.add(document["declaration_id"], document["version"])
    app_id = f"faults-restore-{uuid.uuid4().hex[:8]}"
    state = tmp_path / "worker" / "state"
    state.parent.mkdir()

    with own_broker(tmp_path) as (_broker, settings):
        first = spawn_worker(settings, state.parent, app_id=app_id, log_name="first.log")
        workers.append(first)
        publish_all(settings, [encode(d) for d in first_versions + second_versions])
        wait_for_assessments(settings, sent, prefix, ASSESSED_TIMEOUT_S)
        # Everything committed: the declarations, and with them the join's entries.
        left = wait_for_commits(settings, app_id, COMMIT_TIMEOUT_S, topics.DECLARATIONS)
        first.stop()
        assert left == 0, f"uncommitted declarations: {left}"
        hits_before = read_all(settings, topics.HITS, prefix)
        screened = {(r.partition, r.offset) for r in read_all(settings, topics.ASSESSMENTS, prefix)}
        assert len(hits_before) >= DECLARATIONS  # a hit per referral, a tombstone per closure
        tables = {table: list(state.rglob(f"*{table}*")) for table in (VERSIONS_TABLE, JOIN_TABLE)}
        assert all(tables.values()), f"tables not on disk in {state}: {tables}"
        shutil.rmtree(state)

        second = spawn_worker(settings, state.parent, app_id=app_id, log_name="second.log")
        workers.append(second)
        publish_all(settings, [encode(d) for d in first_versions])
        examined = [_examination(d["declaration_id"], 2) for d in second_versions]
        publish_all(settings, examined, topic=topics.EXAMINATION_RESULTS)
        deadline = time.monotonic() + ASSESSED_TIMEOUT_S
        new: list[dict[str, Any]] = []
        examinations: dict[str, float] = {}
        joined_again: dict[str, float] = {}
        # Until the second worker has assessed every version 1 again and joined those
        # assessments (not the newest versions' it publishes again after them) and the
        # examination results.
        while (
            sum(a["version"] == 1 for a in new) < DECLARATIONS
            or sum(examinations.values()) < DECLARATIONS
            or sum(joined_again.values()) < DECLARATIONS
        ):
            assert time.monotonic() < deadline, (len(new), examinations, joined_again)
            time.sleep(0.5)
            new = [
                orjson.loads(r.value)
                for r in read_all(settings, topics.ASSESSMENTS, prefix)
                if (r.partition, r.offset) not in screened and r.value is not None
            ]
            examinations = _labelled(second, "screening_examination_results_total")
            joined_again = _labelled(second, "screening_feedback_assessments_total")
        left_after = wait_for_commits(settings, app_id, COMMIT_TIMEOUT_S)
        second.stop()
        hits_after = read_all(settings, topics.HITS, prefix)
        result = audit(settings, sent, prefix)

    late = [a for a in new if a["version"] == 1]
    report(
        "tables_restored_into_empty_folder",
        {
            **result.as_dict(),
            "late_assessed": len(late),
            "late_superseded_by": sorted({str(a["superseded_by"]) for a in late}),
            "newest_reissued": len(new) - len(late),
            "examination_results": examinations,
            "feedback_assessments": joined_again,
            "hits_before": len(hits_before),
            "hits_after": len(hits_after),
            "uncommitted": left_after,
        },
        results_file,
        record_property,
    )
    # The version table: every version 1 sent again is known to be older than version 2.
    assert sorted(a["declaration_id"] for a in late) == sorted(sent.latest)
    assert all(a["superseded_by"] == 2 for a in late), late[:3]
    assert len(hits_after) == len(hits_before), "a superseded version raised or closed a hit"
    # The examination join: the assessments of both versions were in it before the folder
    # went, so the examination results join at once and what is assessed again adds nothing.
    assert examinations == {"joined": DECLARATIONS}
    assert set(joined_again) == {"duplicate"}, joined_again
    check(result, left_after)
