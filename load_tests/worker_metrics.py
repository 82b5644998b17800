"""Read a running worker's /metrics: samples by name, and the partitions it owns."""

from __future__ import annotations

import urllib.request
from collections.abc import Sequence

from prometheus_client.parser import text_string_to_metric_families

# One gauge per assigned declaration partition, refreshed every few seconds by the worker.
_LAG_GAUGE = "screening_consumer_lag_messages"


def samples(port: int, name: str) -> list[tuple[dict[str, str], float]]:
    """The labels and values of every sample called ``name`` on the worker's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return [
        (sample.labels, float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


# What a worker's screening batches add up to: declarations and seconds, and how many batches.
_BATCH_SUMS = ("screening_batch_size_sum", "screening_batch_processing_seconds_sum")
_BATCH_COUNT = "screening_batch_size_count"


def batch_totals(port: int) -> tuple[float, float, float]:
    """Screening batches so far: (batches, declarations, processing seconds)."""
    declarations, seconds = (sum(v for _, v in samples(port, name)) for name in _BATCH_SUMS)
    return sum(v for _, v in samples(port, _BATCH_COUNT)), declarations, seconds


def batch_means(
    before: tuple[float, float, float], after: tuple[float, float, float]
) -> dict[str, float | None]:
    """The batches screened between two ``batch_totals``: how many, their mean size and their
    mean time from fetch to stored."""
    batches, declarations, seconds = (a - b for a, b in zip(after, before, strict=True))
    return {
        "count": batches,
        "mean_declarations": round(declarations / batches, 1) if batches else None,
        "mean_ms": round(seconds / batches * 1000, 1) if batches else None,
    }


def assigned_partitions(port: int) -> frozenset[int]:
    """The declaration partitions the worker owns, as its lag gauges show them."""
    return frozenset(int(labels["partition"]) for labels, _ in samples(port, _LAG_GAUGE))


def spread_over_all(owned: Sequence[frozenset[int]], partitions: int) -> bool:
    """Every worker owns partitions, none has two owners, and every one of them has one."""
    covered = frozenset().union(*owned)
    return (
        all(owned)
        and sum(map(len, owned)) == len(covered)
        and covered == frozenset(range(partitions))
    )
