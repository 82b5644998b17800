"""The benchmark's and the soak's reports, from results written by hand."""

from __future__ import annotations

from pathlib import Path

from load_tests.report import THROUGHPUT_VARIANTS, markdown, write_chart
from load_tests.results import evaluate_targets
from load_tests.soak import summary

RESULTS = {
    "declarations": 200_000,
    "rounds": 3,
    "partitions": 12,
    "machine": {"cores": 2, "cpu_model": "AMD EPYC"},
    "versions": {"python": "3.11.7", "kafka": "4.1.1"},
    "input": {"risky_share": 0.05, "naming_listed_company": 990},
    "reference_data": {
        "aeo_records": 1_000_000,
        "watchlist_entries": 100_000,
        "input_aeo_records": 437,
        "input_watchlist_entries": 4,
    },
    "variants": {
        "passthrough": {
            "status": "complete",
            "per_s": 80_000.0,
            "outputs": 200_000,
            "rates_per_s": [78_000.0, 80_000.0, 83_000.0],
            "range_per_s": [78_000.0, 83_000.0],
        },
        "pipeline": {
            "status": "partial",
            "per_s": 30_000.0,
            "outputs": 150_000,
            "rss_mb": 900.4,
            "rates_per_s": [31_000.0, 29_000.0, 30_000.0],
            "range_per_s": [29_000.0, 31_000.0],
        },
        "naive_faust": {"status": "failed: not finished in 300 s", "per_s": None, "outputs": 10},
        "pipeline_pinned": {"status": "partial", "per_s": 18_000.0, "outputs": 120_000},
        "latency": {"curve": [[0.0, 1.0], [50.0, 4.0], [99.0, 20.0], [100.0, 35.0]]},
    },
    "passthrough_per_s": 80_000.0,
    "pipeline_per_s": 30_000.0,
    "pipeline_pinned_per_s": 18_000.0,
    "worker_rss_mb": 900.4,
    "worker_rss_round": 3,
    "latency_rate_per_s": 15_000.0,
    "p50_ms": 4.0,
    "p99_ms": 20.0,
    "p999_ms": 30.0,
    "max_ms": 35.0,
}


def test_markdown_lists_variants_latency_and_targets() -> None:
    text = markdown({**RESULTS, "targets": evaluate_targets(RESULTS)})
    assert "ran in 3 alternated rounds" in text
    assert (
        "| passthrough | 80,000 | 78,000 - 83,000 | 78,000 · 80,000 · 83,000 | 200,000 "
        "| complete | - |" in text
    )
    assert (
        "| pipeline | 30,000 | 29,000 - 31,000 | 31,000 · 29,000 · 30,000 | 150,000 "
        "| partial | 900 |" in text
    )
    assert "| quixstreams | - | - | - | - | not run | - |" in text
    assert "| naive_faust | - | 10 | failed: not finished in 300 s |" in text
    assert "| pipeline_pinned | 18,000 | 120,000 | partial |" in text
    assert "| metrics_off | - | - | not run |" in text
    assert "| 4.00 ms | 20.00 ms | 30.00 ms | 35.00 ms |" in text
    assert "| pipeline_per_s >= 0.33 x passthrough_per_s | 0.38 | met |" in text
    assert "| pipeline_per_s >= 2 x quixstreams_per_s | - | not measured |" in text
    assert "| p99_ms <= 100 | 20.00 | met |" in text
    assert "| pipeline_per_s >= 10 x naive_faust_per_s | - | not measured |" in text
    assert "scheduled send time" in text
    assert "round 3): 900 MiB" in text


def test_header_gives_capacity_per_core_and_reference_data() -> None:
    text = markdown(RESULTS)
    assert "Capacity per core: **18,000 declarations/s (partial)**" in text
    assert "1,000,000 random AEO records and 100,000 random watch-list entries" in text
    assert "the input's own AEO registry (437 records) and 4 watch-list entries" in text
    assert "(990 declarations of the input name one)" in text
    skipped = {**RESULTS, "pipeline_pinned_per_s": None, "variants": {}}
    skipped["variants"] = {"pipeline_pinned": {"status": "skipped: one core"}}
    assert "Capacity per core: **skipped: one core**" in markdown(skipped)


def test_every_variant_is_described() -> None:
    text = markdown(RESULTS)
    section = text[text.index("## What each variant does") :]
    for name in (*THROUGHPUT_VARIANTS, "latency"):
        assert f"- **{name}**: " in section
    assert "no commit barrier" in section
    assert "Polars" in section


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


def test_latency_says_how_busy_the_machine_and_the_worker_were() -> None:
    latency = {
        "cpu_cores": {
            "machine_busy": 1.42,
            "steal": 0.03,
            "worker": 0.81,
            "broker": 0.35,
            "load_generator_and_probe": 0.2,
        },
        "batches": {"count": 600.0, "mean_declarations": 180.5, "mean_ms": 48.3},
    }
    variants = {**RESULTS["variants"], "latency": latency}  # type: ignore[dict-item]
    text = markdown({**RESULTS, "variants": variants})
    assert (
        "the machine's 2 cores were busy 1.42 on average (steal time, as the kernel reports "
        "it: 0.03): "
        "the worker 0.81, the broker 0.35, the load generator and probe 0.20." in text
    )
    assert "600 batches of 180 declarations on average, each 48.3 ms from fetch to stored." in text


def test_latency_without_cpu_figures_says_nothing_of_them() -> None:
    text = markdown(RESULTS)
    assert "cores were busy" not in text
    assert "from fetch to stored" not in text
