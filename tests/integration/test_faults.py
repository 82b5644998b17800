"""Faults on the real broker: the pipeline loses nothing and its compacted views stay right.

Each test starts a broker of its own (so that no other worker screens its declarations, and so
that it may break the broker), runs real `screening worker` processes, breaks something while
declarations flow, then stops the workers and audits every output record (see faults.py).
Each reports sent, assessed, missing, duplicates and the compacted count, and what each kill or
stop hit (the declarations its group had not committed just before); the figures go to stdout,
to the JUnit properties and to fault-results.jsonl in the pytest base temp folder. More in
test_faults_out_of_order.py and test_faults_restore.py.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline import topics
from tests.factories import encode, filing
from tests.integration.conftest import WorkerProcess, spawn_worker
from tests.integration.faults import (
    ASSESSED_TIMEOUT_S,
    COMMIT_TIMEOUT_S,
    CONSUMED,
    CONSUMING_TIMEOUT_S,
    FAST_REBALANCE_ENV,
    MAX_MESSAGE_BYTES,
    POISONS,
    Sent,
    SteadyFeed,
    audit,
    audit_notices,
    check,
    check_dead_letters,
    dead_letter_figures,
    dead_letters,
    fault_results,
    generated_stream,
    group_starter,
    kill_hard,
    kill_in_flight,
    own_broker,
    poison_value,
    publish_all,
    report,
    uncommitted,
    wait_for_assessments,
    wait_for_commits,
    wait_for_keys,
    wait_until_consuming,
    worker_metric,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.fixture
def results_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fault_results(tmp_path_factory)


KILL_STREAM = 20_000
# Where in the stream the kills may come: not before the first batches, not after the feed.
KILL_RANGE = range(500, 18_000)


@pytest.mark.timeout(600)
def test_kill_minus_nine_five_times_while_declarations_flow(
    tmp_path: Path,
    workers: list[WorkerProcess],
    results_file: Path,
    record_property: Any,
) -> None:
    """Five SIGKILLs of the worker at seeded random moments while 20,000 messages (filings,
    amendments, invalidations) flow at a steady rate; the worker is restarted each time in the
    same consumer group with the same data folder. After the last restart the rest of the
    stream is published at once, and the worker left to finish."""
    prefix = f"KILL-{uuid.uuid4().hex[:8]}-"
    messages, sent = generated_stream(KILL_STREAM, seed=7001, prefix=prefix)
    moments = random.Random(7001)
    app_id = f"faults-kill-{uuid.uuid4().hex[:8]}"
    workdir = tmp_path / "worker"
    workdir.mkdir()
    published_at_kill: list[int] = []
    uncommitted_at_kill: list[int] = []

    with own_broker(tmp_path) as (_broker, settings):
        start = group_starter(settings, workdir, app_id, workers)
        worker = start("worker-0.log")
        feed = SteadyFeed(settings, messages, rate_per_s=250)
        feed.start()
        try:
            # Seeded points of the stream, and a moment after each: startup, partition
            # assignment, table recovery, catching up, or steady flow.
            for incarnation, point in enumerate(sorted(moments.sample(KILL_RANGE, 5)), 1):
                feed.wait_published(point, timeout_s=300)
                time.sleep(moments.uniform(0.0, 2.0))
                published_at_kill.append(feed.published)
                uncommitted_at_kill.append(kill_in_flight(worker, settings, app_id))
                worker = start(f"worker-{incarnation}.log")
            feed.hurry()
            feed.finish()
        finally:
            feed.abandon()
        wait_for_assessments(settings, sent, prefix, ASSESSED_TIMEOUT_S)
        left = wait_for_commits(settings, app_id, COMMIT_TIMEOUT_S)
        worker.stop()
        result = audit(settings, sent, prefix)
        notices = audit_notices(settings, prefix)

    report(
        "kill_minus_nine",
        {
            **result.as_dict(),
            **{f"notices_{k}": v for k, v in notices.as_dict().items()},
            "published_at_kill": published_at_kill,
            "uncommitted_at_kill": uncommitted_at_kill,
            "uncommitted": left,
        },
        results_file,
        record_property,
    )
    # The kills hit a flowing stream, not an idle worker after the feed, and took work in
    # flight with them (screened again afterwards: the duplicates).
    assert published_at_kill[0] < len(messages)
    assert max(uncommitted_at_kill) > 0
    check(result, left)
    # Every filing or amendment assessed and not superseded is owed its notice to the filer,
    # whatever was screened again (duplicates carry the same notice_id).
    message_types = {
        (document["declaration_id"], document["version"]): document["message_type"]
        for document in (orjson.loads(value) for _, value in messages if value is not None)
    }
    latest_filings = [key for key in sent.latest.items() if message_types[key] != "INVALIDATION"]
    assert notices.expected >= len(latest_filings) > KILL_STREAM // 2
    assert notices.missing == 0, notices.problems[:10]


@pytest.mark.timeout(420)
@pytest.mark.parametrize(
    ("broker_down", "worker_killed"),
    [("stop", False), ("kill", False), ("kill", True)],
    ids=["broker_restart", "broker_kill_minus_nine", "worker_killed_while_broker_down"],
)
def test_broker_restart_while_declarations_flow(
    broker_down: str,
    worker_killed: bool,
    tmp_path: Path,
    workers: list[WorkerProcess],
    results_file: Path,
    record_property: Any,
    request: pytest.FixtureRequest,
) -> None:
    """The broker goes down while declarations flow, and is started again on the same data
    and ports: stopped cleanly (SIGTERM, controlled shutdown) or killed (SIGKILL of its Java
    process, its logs recovered at the start). The feed and the worker ride through it; or the
    worker is killed (-9) too while the broker is down, and a new one started on its state
    folder and consumer group once the broker is back screens everything that is left."""
    prefix = f"RESTART-{uuid.uuid4().hex[:8]}-"
    messages, sent = generated_stream(6_000, seed=7002, prefix=prefix)
    app_id = f"faults-restart-{uuid.uuid4().hex[:8]}"
    workdir = tmp_path / "worker"
    workdir.mkdir()

    with own_broker(tmp_path) as (broker, settings):
        start = group_starter(settings, workdir, app_id, workers)
        worker = start("first.log")
        feed = SteadyFeed(settings, messages, rate_per_s=300)
        feed.start()
        try:
            wait_until_consuming(worker, CONSUMING_TIMEOUT_S)
            # A quarter of the stream in, so that the worker has work before and after.
            feed.wait_published(len(messages) // 4, timeout_s=120)
            published_at_stop = feed.published
            # Nothing is committed while the broker is down: this much at least was in flight
            # when it went down, and when the worker was killed.
            uncommitted_at_stop = uncommitted(settings, app_id)
            if broker_down == "kill":
                broker.kill()
            else:
                broker.stop()
            if worker_killed:
                kill_hard(worker)
            broker.start()
            if worker_killed:
                worker = start("second.log")
            feed.finish()
        finally:
            feed.abandon()
        wait_for_assessments(settings, sent, prefix, ASSESSED_TIMEOUT_S)
        assert worker.process.poll() is None, f"the worker died; see {worker.log_path}"
        left = wait_for_commits(settings, app_id, COMMIT_TIMEOUT_S)
        worker.stop()
        result = audit(settings, sent, prefix)

    report(
        request.node.callspec.id,
        {
            **result.as_dict(),
            "published_at_stop": published_at_stop,
            "uncommitted_at_stop": uncommitted_at_stop,
            "uncommitted": left,
        },
        results_file,
        record_property,
    )
    assert published_at_stop < len(messages)
    assert uncommitted_at_stop > 0, "the broker went down under an idle worker"
    check(result, left)


# The doomed worker is killed within seconds of its first batch, usually before it has
# committed anything: the survivor must start those partitions from the reset position, not
# from wherever records skipped during its rebalance left the fetch position.
@pytest.mark.timeout(420)
def test_two_workers_one_killed_the_other_takes_over(
    tmp_path: Path,
    workers: list[WorkerProcess],
    results_file: Path,
    record_property: Any,
) -> None:
    """Two workers share one consumer group; once both screen, one is killed (-9) and the
    other, after the session timeout and a rebalance, screens everything that is left."""
    prefix = f"GROUP-{uuid.uuid4().hex[:8]}-"
    messages, sent = generated_stream(6_000, seed=7003, prefix=prefix)
    app_id = f"faults-group-{uuid.uuid4().hex[:8]}"

    with own_broker(tmp_path) as (_broker, settings):
        for name in ("doomed", "survivor"):
            workdir = tmp_path / name
            workdir.mkdir()
            workers.append(
                spawn_worker(settings, workdir, app_id=app_id, extra_env=FAST_REBALANCE_ENV)
            )
        doomed, survivor = workers
        feed = SteadyFeed(settings, messages, rate_per_s=300)
        feed.start()
        try:
            # Both own partitions and screen: the kill takes away live partitions.
            wait_until_consuming(doomed, CONSUMING_TIMEOUT_S)
            wait_until_consuming(survivor, CONSUMING_TIMEOUT_S)
            published_at_kill = feed.published
            survivor_before = worker_metric(survivor, CONSUMED)
            kill_hard(doomed)
            feed.hurry()
            feed.finish()
        finally:
            feed.abandon()
        wait_for_assessments(settings, sent, prefix, ASSESSED_TIMEOUT_S)
        survivor_after = worker_metric(survivor, CONSUMED)
        left = wait_for_commits(settings, app_id, COMMIT_TIMEOUT_S)
        survivor.stop()
        result = audit(settings, sent, prefix)

    report(
        "two_workers_one_killed",
        {
            **result.as_dict(),
            "published_at_kill": published_at_kill,
            "survivor_consumed_before_kill": survivor_before,
            "survivor_consumed_total": survivor_after,
            "uncommitted": left,
        },
        results_file,
        record_property,
    )
    assert published_at_kill < len(messages)
    check(result, left)


BATCH_MAX = 5

# Where the poison goes ("P" poison, "G" good), in runs of BATCH_MAX: first, middle and last
# of a run, consecutive at either end and inside, across the end of one run into the next, a
# whole run, none, alternating. The worker screens one or more fetched runs together (up to one
# per partition), so the groups of four runs give the same positions in batches of
# 4 x BATCH_MAX: poison first, poison last, all poison, and none.
BATCH_PLAN = [
    ["PGGGG", "GGPGG", "GGGGP", "PPGGG"],
    ["GPPPG", "GGGPP", "GPGPG", "GGGGP"],
    ["PPPPP", "PPPPP", "PPPPP", "PPPPP"],
    ["GGGGG", "PGPGP", "GGGGG", "GGGGG"],
]


@pytest.mark.timeout(300)
def test_poison_messages_at_every_position_of_a_batch(
    tmp_path: Path,
    workers: list[WorkerProcess],
    results_file: Path,
    record_property: Any,
) -> None:
    """Poison of every kind at every position of a batch (BATCH_PLAN; one partition, all
    published before the worker starts, so that each fetch is the next run of BATCH_MAX):
    every poison goes to the dead-letter topic with its code, every good one is assessed."""
    prefix = f"POISON-{uuid.uuid4().hex[:8]}-"
    messages: list[tuple[bytes | None, bytes | None]] = []
    expected_codes: dict[bytes, tuple[str, bytes | None]] = {}
    sent = Sent()
    poisons = itertools.cycle(POISONS)
    plan = "".join(run for group in BATCH_PLAN for run in group)
    for position, slot in enumerate(plan):
        declaration_id = f"{prefix}{position}"
        if slot == "G":
            # Every third good one is a referral, so that hits are checked too.
            document = filing(declaration_id, hs_code="930690" if position % 3 == 0 else "940360")
            messages.append(encode(document))
            sent.add(declaration_id, 1)
        else:
            kind, value, code = next(poisons)
            key = f"{declaration_id}-{kind}".encode()
            poison = poison_value(kind, value, declaration_id)
            messages.append((key, poison))
            expected_codes[key] = (code, poison)

    with own_broker(tmp_path) as (_broker, settings):
        # One partition keeps the order, so the plan's positions are the batches' positions.
        publish_all(settings, messages, partition=0)
        app_id = f"faults-poison-{uuid.uuid4().hex[:8]}"
        worker = spawn_worker(
            settings,
            tmp_path,
            app_id=app_id,
            extra_env={
                "SCREENING_BATCH_MAX": str(BATCH_MAX),
                "SCREENING_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES),
            },
        )
        workers.append(worker)
        wait_for_assessments(settings, sent, prefix, ASSESSED_TIMEOUT_S)
        wait_for_keys(settings, topics.DLQ, set(expected_codes), ASSESSED_TIMEOUT_S)
        batches = worker_metric(worker, "screening_batch_size_count")
        left = wait_for_commits(settings, app_id, COMMIT_TIMEOUT_S)
        worker.stop()
        result = audit(settings, sent, prefix)
        rejections = dead_letters(settings, prefix)

    report(
        "poison_messages",
        {
            **result.as_dict(),
            **dead_letter_figures(rejections, expected_codes),
            "batches": batches,
            "uncommitted": left,
        },
        results_file,
        record_property,
    )
    check(result, left)
    check_dead_letters(rejections, expected_codes)
    # No poison was assessed, and the audit saw no assessment for an id never sent.
    assert result.assessment_records - result.duplicates == len(sent.versions)
