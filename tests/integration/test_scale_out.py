"""Scale-out on the real broker: workers join and leave one consumer group while declarations
flow over 12 partitions; the partitions are spread and moved, and nothing is lost.

One worker starts alone, a second and a third join while the feed runs, then one of the three
is killed (-9). After each step the test waits until the workers' assignments (from their lag
gauges) are disjoint and cover every partition, and records them; after the last, the rest of
the stream is published at once. At the end every valid declaration version sent has an
assessment and the compacted views are right (see faults.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from load_tests.worker_metrics import assigned_partitions, spread_over_all
from tests.integration.conftest import WorkerProcess, spawn_worker
from tests.integration.faults import (
    FAST_REBALANCE_ENV,
    SteadyFeed,
    audit,
    generated_stream,
    kill_hard,
    own_broker,
    report,
    wait_for_assessments,
    wait_for_commits,
    wait_until_consuming,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]

PARTITIONS = 12
# About 90 s of flow at the steady rate: enough for two workers to join and rebalance and one
# to die while the feed runs, on two cores shared with the broker and the feed.
STREAM = 18_000
RATE_PER_S = 200
# A rebalance takes a session timeout (10 s here) when a worker dies, plus the table's
# recovery; the rest is two cores shared with a broker, the feed and three workers.
SPREAD_TIMEOUT_S = 120.0
ASSESSED_TIMEOUT_S = 240.0
COMMIT_TIMEOUT_S = 60.0


def wait_until_spread(group: Sequence[WorkerProcess], timeout_s: float) -> list[list[int]]:
    """Until the partitions are spread over every worker of ``group`` (see
    ``spread_over_all``); returns each worker's partitions."""
    deadline = time.monotonic() + timeout_s
    while True:
        owned = [assigned_partitions(worker.web_port) for worker in group]
        if spread_over_all(owned, PARTITIONS):
            return [sorted(partitions) for partitions in owned]
        for worker in group:
            assert worker.process.poll() is None, f"worker exited; see {worker.log_path}"
        assert time.monotonic() < deadline, f"not spread in {timeout_s} s: {owned}"
        time.sleep(1.0)


@pytest.mark.timeout(600)
def test_workers_join_and_leave_while_declarations_flow(
    tmp_path: Path,
    workers: list[WorkerProcess],
    tmp_path_factory: pytest.TempPathFactory,
    record_property: Any,
) -> None:
    prefix = f"SCALE-{uuid.uuid4().hex[:8]}-"
    messages, sent = generated_stream(STREAM, seed=7005, prefix=prefix)
    app_id = f"scale-out-{uuid.uuid4().hex[:8]}"
    env = {**FAST_REBALANCE_ENV, "SCREENING_PARTITIONS": str(PARTITIONS)}
    assignments: dict[str, list[list[int]]] = {}
    published: dict[str, int] = {}

    def join(name: str) -> WorkerProcess:
        workdir = tmp_path / name
        workdir.mkdir()
        worker = spawn_worker(settings, workdir, app_id=app_id, extra_env=env)
        workers.append(worker)
        return worker

    with own_broker(tmp_path, partitions=PARTITIONS) as (_broker, settings):
        first = join("first")
        feed = SteadyFeed(settings, messages, rate_per_s=RATE_PER_S)
        feed.start()
        try:
            wait_until_consuming(first, SPREAD_TIMEOUT_S)
            assignments["one"] = wait_until_spread([first], SPREAD_TIMEOUT_S)
            second = join("second")
            assignments["two"] = wait_until_spread([first, second], SPREAD_TIMEOUT_S)
            published["two"] = feed.published
            third = join("third")
            assignments["three"] = wait_until_spread([first, second, third], SPREAD_TIMEOUT_S)
            published["three"] = feed.published
            kill_hard(second)
            published["killed"] = feed.published
            assignments["after_kill"] = wait_until_spread([first, third], SPREAD_TIMEOUT_S)
            feed.hurry()
            feed.finish()
        finally:
            feed.abandon()
        wait_for_assessments(settings, sent, prefix, ASSESSED_TIMEOUT_S)
        left = wait_for_commits(settings, app_id, COMMIT_TIMEOUT_S)
        first.stop()
        third.stop()
        result = audit(settings, sent, prefix)

    report(
        "scale_out",
        {
            **result.as_dict(),
            "assignments": assignments,
            "published_at": published,
            "uncommitted": left,
        },
        tmp_path_factory.getbasetemp() / "fault-results.jsonl",
        record_property,
    )
    # The group changed while declarations were still flowing, not after the feed.
    assert published["killed"] < len(messages), published
    assert result.missing == 0, result.problems[:10]
    assert result.compacted == result.distinct_ids
    assert result.problems == []
    assert left == 0, f"{left} declarations screened but never committed"
