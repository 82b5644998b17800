"""The benchmark harness end to end, small: its own broker, every variant, every result key.

The same `python -m load_tests.bench` as `make bench`, with a few thousand declarations, small
reference data, two alternated rounds and a short latency phase, so that the benchmark keeps
working. It asserts what
the run produced, not how fast: speed is the benchmark's to report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = (
    "passthrough_per_s",
    "naive_faust_per_s",
    "quixstreams_per_s",
    "pipeline_per_s",
    "pipeline_1000_rules_per_s",
    "metrics_off_per_s",
    "latency_rate_per_s",
    "p50_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "worker_rss_mb",
    "declarations",
    "partitions",
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def test_bench_smoke(tmp_path: Path) -> None:
    results = tmp_path / "results"
    command = [sys.executable, "-m", "load_tests.bench", "--declarations", "3000", "--rounds", "2"]
    command += ["--aeo", "5000", "--watchlist", "500", "--rules", "120"]
    command += ["--latency-seconds", "3", "--warmup-seconds", "1", "--measure-cap", "60"]
    command += ["--variant-timeout", "180"]
    command += ["--results", str(results), "--work-dir", str(tmp_path / "work")]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=840)
    assert run.returncode == 0, run.stderr[-3000:]

    found = json.loads((results / "bench.json").read_text())
    for key in REQUIRED:
        value = found.get(key)
        assert isinstance(value, int | float), f"{key}: {value}"
        assert value > 0, f"{key}: {value}"
    assert found["declarations"] == 3000
    assert found["rounds"] == 2
    for name in ("passthrough", "quixstreams", "pipeline"):
        rates = found[f"{name}_rates_per_s"]
        low, high = found[f"{name}_range_per_s"]
        assert len(rates) == 2, (name, rates)
        assert all(rate > 0 for rate in rates), (name, rates)
        assert low <= found[f"{name}_per_s"] <= high, name
        assert len(found["variants"][name]["rounds"]) == 2
    assert found["worker_rss_round"] in (1, 2)
    pinned = found["variants"]["pipeline_pinned"]
    if pinned["status"].startswith("skipped"):
        assert found["pipeline_pinned_per_s"] is None
    else:
        assert found["pipeline_pinned_per_s"] > 0, pinned
    reference = found["reference_data"]
    assert (reference["aeo_records"], reference["watchlist_entries"]) == (5000, 500)
    assert reference["input_aeo_records"] > 0
    assert reference["input_watchlist_entries"] > 0
    assert found["input"]["naming_listed_company"] > 0
    assert found["partitions"] == 12
    assert found["machine"]["cores"] >= 1
    assert all(found["versions"][name] for name in ("python", "faust", "quixstreams", "kafka"))
    for name in ("passthrough", "naive_faust", "quixstreams", "pipeline", "metrics_off"):
        variant = found["variants"][name]
        assert variant["status"] == "complete", (name, variant)
        assert variant["outputs"] >= 3000, (name, variant)
    latency = found["variants"]["latency"]
    assert latency["assessed"] > 0
    assert found["p50_ms"] <= found["p99_ms"] <= found["p999_ms"] <= found["max_ms"]
    assert set(found["targets"]) >= {"pipeline_vs_passthrough", "p99_at_half_rate"}
    assert all(t["met"] in (True, False) for t in found["targets"].values())
    report = (results / "bench.md").read_text()
    assert "| pipeline |" in report
    assert "Capacity per core" in report
    assert "## What each variant does" in report
    assert "## Targets" in report
    assert (results / "bench.png").read_bytes().startswith(b"\x89PNG")
