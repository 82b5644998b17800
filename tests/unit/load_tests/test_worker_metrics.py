"""What a worker's screening batches add up to between two readings of its /metrics."""

from __future__ import annotations

from load_tests.worker_metrics import batch_means, spread_over_all


def test_batch_means_are_taken_over_the_batches_between_two_readings() -> None:
    before = (100.0, 18_000.0, 4.0)
    after = (700.0, 126_000.0, 33.0)
    assert batch_means(before, after) == {
        "count": 600.0,
        "mean_declarations": 180.0,
        "mean_ms": 48.3,
    }


def test_no_batch_between_two_readings_has_no_means() -> None:
    reading = (5.0, 900.0, 0.2)
    assert batch_means(reading, reading) == {
        "count": 0.0,
        "mean_declarations": None,
        "mean_ms": None,
    }


def test_partitions_spread_over_all_only_with_one_owner_each() -> None:
    assert spread_over_all([frozenset({0, 1}), frozenset({2, 3})], 4)
    assert not spread_over_all([frozenset({0, 1}), frozenset({1, 2, 3})], 4)
    assert not spread_over_all([frozenset({0, 1}), frozenset()], 2)
    assert not spread_over_all([frozenset({0})], 2)
