"""Metrics fed per batch: the bulk latency histogram exposes what Prometheus expects."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.metrics import BatchHistogram


def samples(histogram: BatchHistogram) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(histogram)
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_bulk_observations_land_in_cumulative_buckets_per_label() -> None:
    h = BatchHistogram("x_seconds", "test", "source", (0.1, 1.0))
    h.observe_many("a", [0.05, 0.1, 0.5, 3.0])
    h.observe_many("a", [0.2])
    h.observe_many("b", [])
    got = samples(h)
    assert got[("x_seconds_bucket", (("le", "0.1"), ("source", "a")))] == 2  # 0.1 is inclusive
    assert got[("x_seconds_bucket", (("le", "1.0"), ("source", "a")))] == 4
    assert got[("x_seconds_bucket", (("le", "+Inf"), ("source", "a")))] == 5
    assert got[("x_seconds_count", (("source", "a"),))] == 5
    assert abs(got[("x_seconds_sum", (("source", "a"),))] - 3.85) < 1e-9
    assert got[("x_seconds_count", (("source", "b"),))] == 0
