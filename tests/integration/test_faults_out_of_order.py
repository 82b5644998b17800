"""Versions published out of order, and poison between them, while the worker is killed (-9)
again and again: every valid version is assessed, every poison message is dead-lettered with
its code, and the compacted view of each declaration ends with its newest version's assessment,
whatever order the versions came in (see faults.py for the audit)."""

from __future__ import annotations

import itertools
import random
import uuid
from pathlib import Path
from typing import Any

import pytest

from pipeline import topics
from tests.factories import encode, filing, invalidation
from tests.integration.conftest import WorkerProcess
from tests.integration.faults import (
    ASSESSED_TIMEOUT_S,
    COMMIT_TIMEOUT_S,
    CONSUMING_TIMEOUT_S,
    MAX_MESSAGE_BYTES,
    POISONS,
    Message_,
    Sent,
    SteadyFeed,
    audit,
    check,
    check_dead_letters,
    dead_letter_figures,
    dead_letters,
    fault_results,
    group_starter,
    kill_in_flight,
    own_broker,
    poison_value,
    report,
    wait_for_assessments,
    wait_for_commits,
    wait_for_keys,
    wait_until_consuming,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]

# The order in which each declaration's versions are published, taken in turn: in order
# (controls), v2 before v1, v3 before v2, the newest first, the oldest last.
ORDERS: list[tuple[int, ...]] = [
    (1,),
    (1, 2),
    (2, 1),
    (1, 2, 3),
    (2, 1, 3),
    (1, 3, 2),
    (3, 2, 1),
    (3, 1, 2),
    (2, 3, 1),
]
DECLARATIONS = 2_400
POISON_EVERY = 20  # one poison message among this many
RATE_PER_S = 150
KILLS = 3
# How far the stream goes on after a worker has started to screen before it is killed: a
# few seconds of screening and committing, so that each kill is of a worker in full flow.
SCREENING_BEFORE_KILL = 600


@pytest.fixture
def results_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fault_results(tmp_path_factory)


def _stream(
    prefix: str, seed: int
) -> tuple[list[Message_], Sent, dict[bytes, tuple[str, bytes | None]], int]:
    """The messages in publishing order, the valid versions among them, the poison (key: its
    rejection code and value) and how many declarations have their versions out of order.
    Half of the declarations have their versions one right after the other (one batch, as a
    rule), the other half spread over the whole stream (batches, and kills, apart)."""
    rng = random.Random(seed)
    placed: list[tuple[float, Message_]] = []
    sent = Sent()
    out_of_order = 0
    for index, order in zip(range(DECLARATIONS), itertools.cycle(ORDERS), strict=False):
        declaration_id = f"{prefix}{index}"
        out_of_order += list(order) != sorted(order)
        if index % 2:
            positions = sorted(rng.random() for _ in order)
        else:
            start = rng.random()
            positions = [start + step * 1e-9 for step in range(len(order))]
        for position, version in zip(positions, order, strict=True):
            if version == 3 and index % 4 == 1:
                document = invalidation(declaration_id, version)
            else:
                # A quarter of the versions are referrals, so that hits are checked too.
                hs_code = "930690" if rng.random() < 0.25 else "940360"
                document = filing(declaration_id, version, hs_code)
            placed.append((position, encode(document)))
            sent.add(declaration_id, version)
    poison: dict[bytes, tuple[str, bytes | None]] = {}
    kinds = itertools.cycle(POISONS)
    for index in range(len(placed) // POISON_EVERY):
        kind, value, code = next(kinds)
        declaration_id = f"{prefix}P{index}"
        key = f"{declaration_id}-{kind}".encode()
        poison[key] = (code, poison_value(kind, value, declaration_id))
        placed.append((rng.random(), (key, poison[key][1])))
    placed.sort(key=lambda item: item[0])
    return [message for _, message in placed], sent, poison, out_of_order


@pytest.mark.timeout(480)
def test_out_of_order_versions_and_poison_while_the_worker_is_killed(
    tmp_path: Path,
    workers: list[WorkerProcess],
    results_file: Path,
    record_property: Any,
) -> None:
    """Declarations whose versions arrive out of order, poison between them, published at a
    steady rate; the worker is killed (-9) three times, each a few seconds after it started
    to screen, and started again on the same state folder and consumer group each time."""
    prefix = f"ORDER-{uuid.uuid4().hex[:8]}-"
    messages, sent, poison, out_of_order = _stream(prefix, seed=7021)
    app_id = f"faults-order-{uuid.uuid4().hex[:8]}"
    workdir = tmp_path / "worker"
    workdir.mkdir()
    published_at_kill: list[int] = []
    uncommitted_at_kill: list[int] = []

    with own_broker(tmp_path) as (_broker, settings):
        start = group_starter(
            settings,
            workdir,
            app_id,
            workers,
            extra_env={"SCREENING_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES)},
        )
        worker = start("worker-0.log")
        feed = SteadyFeed(settings, messages, rate_per_s=RATE_PER_S)
        feed.start()
        try:
            for incarnation in range(1, KILLS + 1):
                # Each kill hits a worker that owns partitions and screens.
                wait_until_consuming(worker, CONSUMING_TIMEOUT_S)
                feed.wait_published(feed.published + SCREENING_BEFORE_KILL, timeout_s=300)
                published_at_kill.append(feed.published)
                uncommitted_at_kill.append(kill_in_flight(worker, settings, app_id))
                worker = start(f"worker-{incarnation}.log")
            feed.hurry()
            feed.finish()
        finally:
            feed.abandon()
        wait_for_assessments(settings, sent, prefix, ASSESSED_TIMEOUT_S)
        wait_for_keys(settings, topics.DLQ, set(poison), ASSESSED_TIMEOUT_S)
        left = wait_for_commits(settings, app_id, COMMIT_TIMEOUT_S)
        worker.stop()
        result = audit(settings, sent, prefix)
        rejections = dead_letters(settings, prefix)

    report(
        "out_of_order_and_poison_under_kills",
        {
            **result.as_dict(),
            "out_of_order_ids": out_of_order,
            **dead_letter_figures(rejections, poison),
            "wrong_compacted_version": sum("compacted assessment is" in p for p in result.problems),
            "published_at_kill": published_at_kill,
            "uncommitted_at_kill": uncommitted_at_kill,
            "uncommitted": left,
        },
        results_file,
        record_property,
    )
    assert published_at_kill[-1] < len(messages)
    assert max(uncommitted_at_kill) > 0, "every kill hit a worker with nothing in flight"
    assert result.missing == 0, result.problems[:10]
    check_dead_letters(rejections, poison)
    # Last, the compacted views: each declaration ends with its newest version's assessment.
    check(result, left)
