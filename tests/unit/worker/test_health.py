"""Readiness and liveness checks, and the tracker that gathers their facts."""

from __future__ import annotations

import pytest

from pipeline.worker.health import (
    STALE_MEASUREMENTS,
    HealthTracker,
    LivenessFacts,
    ReadinessFacts,
    liveness,
    readiness,
)
from pipeline.worker.lag import PartitionLag

STALL_S = 300.0
LAG_INTERVAL_S = 5.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tracker(clock: FakeClock) -> HealthTracker:
    return HealthTracker(LAG_INTERVAL_S, clock=clock)


def test_ready_once_joined_with_rules_and_reference_data() -> None:
    verdict = readiness(ReadinessFacts(rebalances_completed=1, rules_loaded=True))
    assert verdict.ok
    assert verdict.as_json() == {"ok": True, "reasons": []}


def test_not_ready_before_the_first_rebalance_completes() -> None:
    verdict = readiness(ReadinessFacts(rebalances_completed=0, rules_loaded=True))
    assert not verdict.ok
    assert "consumer group" in verdict.reasons[0]


def test_not_ready_without_rules_or_with_a_failed_mirror() -> None:
    verdict = readiness(
        ReadinessFacts(1, rules_loaded=False, failed_mirrors=("customs.watchlist.v1",))
    )
    assert not verdict.ok
    assert verdict.reasons == ("no rule set loaded", "customs.watchlist.v1: no longer read")


def test_a_standby_without_partitions_is_ready(tracker: HealthTracker) -> None:
    """More workers than partitions: this one was assigned nothing, and is still ready."""
    tracker.rebalance_completed()
    tracker.lag_measured([])
    assert readiness(tracker.readiness_facts(rules_loaded=True)).ok
    assert liveness(tracker.liveness_facts(rebalancing=False), STALL_S).ok


def test_a_later_rebalance_keeps_the_worker_ready(tracker: HealthTracker) -> None:
    tracker.rebalance_completed()
    # Another worker joined: this one is restoring its tables again, and still ready.
    assert readiness(tracker.readiness_facts(rules_loaded=True)).ok
    assert tracker.liveness_facts(rebalancing=True).rebalancing


def _facts(**overrides: object) -> LivenessFacts:
    values: dict[str, object] = {
        "rebalancing": False,
        "seconds_since_progress": STALL_S + 1,
        "waiting_declarations": 10,
        "oldest_waiting_s": STALL_S + 1,
    }
    values.update(overrides)
    return LivenessFacts(**values)  # type: ignore[arg-type]


def test_stalled_when_work_waits_and_nothing_is_screened() -> None:
    verdict = liveness(_facts(), STALL_S)
    assert not verdict.ok
    assert "10 declarations waiting" in verdict.reasons[0]


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"waiting_declarations": 0}, id="nothing waiting"),
        pytest.param({"oldest_waiting_s": 5.0}, id="work just arrived after a quiet spell"),
        pytest.param({"seconds_since_progress": 2.0}, id="behind but screening"),
        pytest.param({"rebalancing": True}, id="restoring the version table"),
        pytest.param({"waiting_declarations": None}, id="no fresh lag measurement"),
    ],
)
def test_alive(overrides: dict[str, object]) -> None:
    assert liveness(_facts(**overrides), STALL_S).ok


def test_tracker_reports_a_stall_only_after_the_timeout(
    tracker: HealthTracker, clock: FakeClock
) -> None:
    tracker.rebalance_completed()
    tracker.screened()
    clock.now += STALL_S - 1
    tracker.lag_measured([PartitionLag(0, 5, STALL_S - 1), PartitionLag(1, 0, 0.0)])
    assert liveness(tracker.liveness_facts(rebalancing=False), STALL_S).ok
    clock.now += 2
    tracker.lag_measured([PartitionLag(0, 7, STALL_S + 1), PartitionLag(1, 0, 0.0)])
    facts = tracker.liveness_facts(rebalancing=False)
    assert facts.waiting_declarations == 7
    assert not liveness(facts, STALL_S).ok
    tracker.screened()  # a batch went through: alive again
    assert liveness(tracker.liveness_facts(rebalancing=False), STALL_S).ok


def test_tracker_forgets_a_stale_lag_measurement(tracker: HealthTracker, clock: FakeClock) -> None:
    tracker.rebalance_completed()
    tracker.lag_measured([PartitionLag(0, 5, 1.0)])
    clock.now += STALE_MEASUREMENTS * LAG_INTERVAL_S + 1
    assert tracker.liveness_facts(rebalancing=False).waiting_declarations is None


def test_a_completed_rebalance_restarts_the_stall_clock(
    tracker: HealthTracker, clock: FakeClock
) -> None:
    """Partitions taken over with an old backlog are not a stall the moment they arrive."""
    clock.now += STALL_S * 2
    tracker.lag_measured([PartitionLag(3, 900, STALL_S * 2)])
    assert tracker.liveness_facts(rebalancing=False).seconds_since_progress == STALL_S * 2
    tracker.rebalance_completed()
    facts = tracker.liveness_facts(rebalancing=False)
    assert facts.seconds_since_progress == 0
    assert liveness(facts, STALL_S).ok


def test_readiness_follows_the_first_completed_rebalance(tracker: HealthTracker) -> None:
    assert not readiness(tracker.readiness_facts(rules_loaded=True)).ok
    tracker.rebalance_completed()
    assert readiness(tracker.readiness_facts(rules_loaded=True)).ok
