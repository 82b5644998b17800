"""Lag in seconds, interpolated from the history of a partition's high watermark."""

from __future__ import annotations

import pytest

from pipeline.worker.lag import HighWaterHistory


def history(*samples: tuple[int, float]) -> HighWaterHistory:
    h = HighWaterHistory()
    for offset, at in samples:
        h.record(offset, at)
    return h


def test_caught_up_means_no_age() -> None:
    assert history((100, 10.0), (200, 20.0)).age(200, now=25.0) == 0.0


def test_the_arrival_of_the_next_record_is_interpolated() -> None:
    # 100 records arrived between t=10 and t=20; record 150 about halfway, at t=15.
    assert history((100, 10.0), (200, 20.0)).age(150, now=25.0) == pytest.approx(10.0)


def test_a_stalled_worker_sees_the_age_grow_with_time() -> None:
    h = history((100, 10.0), (200, 20.0))
    first = h.age(150, now=25.0)
    h.record(200, 30.0)
    assert h.age(150, now=35.0) == pytest.approx(first + 10.0)


def test_a_backlog_older_than_the_history_is_at_least_as_old_as_the_history() -> None:
    assert history((500, 10.0), (600, 20.0)).age(100, now=30.0) == pytest.approx(20.0)


def test_history_is_bounded_and_restarts_when_the_partition_shrinks() -> None:
    h = HighWaterHistory(limit=3)
    for i in range(10):
        h.record(100 * i, float(i))
    assert h.age(650, now=10.0) == pytest.approx(10.0 - 7.0)
    h.record(5, 11.0)  # recreated topic: the old samples mean nothing now
    assert h.age(0, now=12.0) == pytest.approx(1.0)
