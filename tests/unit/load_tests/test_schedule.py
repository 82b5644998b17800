"""The open-loop schedule: due times fixed from the start, lateness reported, never absorbed."""

from __future__ import annotations

import time

import pytest

from load_tests.schedule import OpenLoopSchedule


def test_message_i_is_due_at_start_plus_i_over_rate() -> None:
    schedule = OpenLoopSchedule(rate_per_s=200.0, started_at=10.0)
    assert schedule.due(0) == 10.0
    assert schedule.due(200) == pytest.approx(11.0)
    assert schedule.due(50) == pytest.approx(10.25)


def test_wait_until_due_and_never_negative() -> None:
    schedule = OpenLoopSchedule(rate_per_s=100.0, started_at=0.0)
    assert schedule.wait_s(10, now=0.04) == pytest.approx(0.06)
    assert schedule.wait_s(10, now=0.5) == 0.0


def test_a_late_send_does_not_move_later_due_times() -> None:
    # A stall (a slow consumer cannot cause one, but a slow sender can) leaves the schedule as
    # it was: the next messages are overdue and go out at once instead of being spaced again.
    schedule = OpenLoopSchedule(rate_per_s=10.0, started_at=0.0)
    schedule.record_send(0, now=2.0)
    assert schedule.due(1) == pytest.approx(0.1)
    assert schedule.wait_s(1, now=2.0) == 0.0


def test_falling_behind_is_reported() -> None:
    schedule = OpenLoopSchedule(rate_per_s=1000.0, started_at=0.0, late_after_s=0.005)
    schedule.record_send(0, now=0.0)
    schedule.record_send(1, now=0.002)  # 1 ms late: within the tolerance
    schedule.record_send(2, now=0.052)  # 50 ms late
    assert schedule.sent == 3
    assert schedule.late_messages == 1
    assert schedule.worst_lateness_s == pytest.approx(0.05)
    assert schedule.late_share == pytest.approx(1 / 3)


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        OpenLoopSchedule(rate_per_s=0.0, started_at=0.0)


def test_due_wall_is_the_scheduled_time_on_the_wall_clock() -> None:
    # The send time the latency is measured from: the due time, however late the send.
    schedule = OpenLoopSchedule(rate_per_s=100.0, started_at=5.0, wall_started_at=1_700_000_000.0)
    assert schedule.due_wall(0) == 1_700_000_000.0
    assert schedule.due_wall(250) == pytest.approx(1_700_000_002.5)
    schedule.record_send(250, now=9.0)  # left 1.5 s late
    assert schedule.due_wall(250) == pytest.approx(1_700_000_002.5)


def test_starting_now_reads_both_clocks() -> None:
    before_wall, before = time.time(), time.monotonic()
    schedule = OpenLoopSchedule.starting_now(50.0)
    after_wall, after = time.time(), time.monotonic()
    assert before <= schedule.started_at <= after
    assert schedule.wall_started_at is not None
    assert before_wall <= schedule.wall_started_at <= after_wall
    assert schedule.due_wall(50) == pytest.approx(schedule.wall_started_at + 1.0)


def test_due_wall_needs_a_wall_clock_start() -> None:
    with pytest.raises(ValueError, match="wall-clock start"):
        OpenLoopSchedule(rate_per_s=10.0, started_at=0.0).due_wall(1)
