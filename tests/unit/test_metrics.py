"""Metrics fed per batch: the bulk latency histogram exposes what Prometheus expects; the
worker's and the workbench's registries carry the standard process metrics."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pipeline import metrics
from pipeline.metrics import BatchHistogram
from pipeline.standard_collectors import register_standard_collectors
from pipeline.workbench import metrics as workbench_metrics

STANDARD = (
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "process_open_fds",
    "python_gc_objects_collected_total",
    "python_info",
)


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


@pytest.mark.parametrize(
    "registry", [metrics.REGISTRY, workbench_metrics.REGISTRY], ids=["worker", "workbench"]
)
def test_registry_exports_the_standard_process_metrics(registry: CollectorRegistry) -> None:
    text = generate_latest(registry).decode()
    exported = {s.name for family in text_string_to_metric_families(text) for s in family.samples}
    for name in STANDARD:
        assert name in exported, name
    assert (registry.get_sample_value("process_resident_memory_bytes") or 0) > 0


def test_standard_collectors_go_on_the_registry_given() -> None:
    registry = CollectorRegistry()
    register_standard_collectors(registry)
    gc_generation = {"generation": "0"}
    assert registry.get_sample_value("python_gc_objects_collected_total", gc_generation) is not None
    assert registry.get_sample_value("process_cpu_seconds_total") is not None
    assert metrics.REGISTRY is not DEFAULT_REGISTRY
    assert workbench_metrics.REGISTRY is not DEFAULT_REGISTRY
