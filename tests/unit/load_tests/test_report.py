"""The benchmark's and the soak's reports, from results written by hand."""

from __future__ import annotations

from pathlib import Path

from load_tests.report import markdown, write_chart
from load_tests.results import evaluate_targets
from load_tests.soak import summary

RESULTS = {
    "declarations": 200_000,
    "partitions": 12,
    "machine": {"cores": 2, "cpu_model": "AMD EPYC"},
    "versions": {"python": "3.11.7", "kafka": "4.1.1"},
    "variants": {
        "passthrough": {"status": "complete", "per_s": 80_000.0, "outputs": 200_000},
        "pipeline": {"status": "partial", "per_s": 30_000.0, "outputs": 150_000, "rss_mb": 900.4},
        "naive_faust": {"status": "failed: not finished in 300 s", "per_s": None, "outputs": 10},
        "latency": {"curve": [[0.0, 1.0], [50.0, 4.0], [99.0, 20.0], [100.0, 35.0]]},
    },
    "passthrough_per_s": 80_000.0,
    "pipeline_per_s": 30_000.0,
    "latency_rate_per_s": 15_000.0,
    "p50_ms": 4.0,
    "p99_ms": 20.0,
    "p999_ms": 30.0,
    "max_ms": 35.0,
}


def test_markdown_lists_variants_latency_and_targets() -> None:
    text = markdown({**RESULTS, "targets": evaluate_targets(RESULTS)})
    assert "| passthrough | 80,000 | 200,000 | complete |" in text
    assert "| pipeline | 30,000 | 150,000 | partial | 900 |" in text
    assert "| naive_faust | - | 10 | failed: not finished in 300 s |" in text
    assert "| quixstreams | - | - | not run |" in text
    assert "| 4.00 ms | 20.00 ms | 30.00 ms | 35.00 ms |" in text
    assert "| pipeline_per_s >= 0.33 x passthrough_per_s | 0.38 | met |" in text
    assert "| p99_ms <= 100 | 20.00 | met |" in text
    assert "| pipeline_per_s >= 10 x naive_faust_per_s | - | not measured |" in text


def test_chart_is_a_png(tmp_path: Path) -> None:
    write_chart(RESULTS, tmp_path / "bench.png")
    assert (tmp_path / "bench.png").read_bytes().startswith(b"\x89PNG")


def test_soak_summary_judges_memory_and_lag() -> None:
    steady = [{"t_s": t, "rss_mb": 500.0 + t / 100, "lag": 300 + t % 3 * 100} for t in range(61)]
    found = summary(steady)
    assert found["rss_start_mb"] == 500.0
    assert found["rss_end_mb"] == 500.6
    assert found["rss_growth_met"] is True
    assert found["lag_met"] is True
    leaking = [{"t_s": t, "rss_mb": 500.0 + t * 2, "lag": t * 1000} for t in range(61)]
    found = summary(leaking)
    assert found["rss_growth"] == 0.24
    assert found["rss_growth_met"] is False
    assert found["lag_growing"] is True
    assert found["lag_met"] is False


def test_soak_judges_the_window_after_the_warm_up() -> None:
    """Memory that fills in the first minutes and then holds is not growth; the whole run's
    growth is reported beside it."""
    filling = [{"t_s": t * 10, "rss_mb": 900.0 + min(t, 12) * 10, "lag": 500} for t in range(73)]
    found = summary(filling, warmup_s=120)
    assert found["rss_first_mb"] == 900.0
    assert found["rss_start_mb"] == 1020.0
    assert found["rss_end_mb"] == 1020.0
    assert found["rss_growth"] == 0.0
    assert found["rss_growth_met"] is True
    assert found["rss_growth_from_first"] == round(120 / 900, 4)
    # Growth that goes on after the warm-up is still caught.
    leaking = [{"t_s": t * 10, "rss_mb": 900.0 + t * 10, "lag": 500} for t in range(73)]
    found = summary(leaking, warmup_s=120)
    assert found["rss_start_mb"] == 1020.0
    assert found["rss_growth_met"] is False
