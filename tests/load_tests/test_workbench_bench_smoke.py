"""The workbench benchmark end to end, small: its own PostgreSQL and broker, a worker, two
workbenches, every result key.

The same `python -m load_tests.workbench_bench` as `make bench-workbench`, with 1,000 open
referrals, no larger worklist, few requests, small reference data and 10 s at 100/s, so that
the benchmark keeps working. It asserts what the run produced, not how fast: speed is the
benchmark's to report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ("page", "rows", "filtered", "search")
SPREAD = ("p50", "p95", "p99", "max")

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def _ordered(figures: dict[str, float], keys: tuple[str, ...]) -> bool:
    values = [figures[k] for k in keys]
    return values == sorted(values)


def test_workbench_bench_smoke(tmp_path: Path) -> None:
    results = tmp_path / "results"
    command = [sys.executable, "-m", "load_tests.workbench_bench", "--cases", "1000"]
    command += ["--large-cases", "0", "--requests", "5", "--warmups", "1"]
    command += ["--rate", "100", "--seconds", "10", "--warmup-seconds", "2"]
    command += ["--aeo", "2000", "--watchlist", "200", "--drain-timeout", "120"]
    command += ["--results", str(results), "--work-dir", str(tmp_path / "work")]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=840)
    assert run.returncode == 0, run.stderr[-3000:]

    found = json.loads((results / "workbench.json").read_text())
    assert found["cases"] == 1000
    assert found["machine"]["cores"] >= 1
    assert all(found["versions"][name] for name in ("python", "postgresql", "kafka"))

    worklist = found["worklist"]
    assert worklist["status"] == "complete", worklist
    assert list(worklist["sizes"]) == ["1000"]
    size = worklist["sizes"]["1000"]
    assert set(size["views"]) == set(VIEWS)
    for name in VIEWS:
        view = size["views"][name]
        assert view["requests"] == 5, (name, view)
        assert len(view["samples_ms"]) == 5
        assert view["p50_ms"] > 0
        assert _ordered({k: view[f"{k}_ms"] for k in SPREAD}, SPREAD), (name, view)
    # Every open referral is on the worklist; the filter and the search narrow it.
    assert size["views"]["page"]["matching"] == 1000
    assert size["views"]["rows"]["matching"] == 1000
    assert 0 < size["views"]["filtered"]["matching"] < 1000
    assert 0 < size["views"]["search"]["matching"] < 1000
    assert size["search_term"]

    ingest = found["ingest"]
    assert ingest["status"] == "complete", ingest
    assert ingest["sent"] == 1000
    assert ingest["drained"] is True
    assert ingest["all_hits_ingested"] is True
    assert ingest["hit_records"] > 0
    assert ingest["hits_per_s"] > 0
    assert ingest["cases"] > 0
    assert ingest["open_cases"] == ingest["expected_open_cases"]
    assert ingest["open_cases_in_db_all_phases"] == ingest["open_referrals_on_topic_all_phases"]
    delays = ingest["case_delay_ms"]
    assert delays["count"] == ingest["cases"]
    assert _ordered(delays, SPREAD)
    assert ingest["hit_version_delay_ms"]["count"] >= ingest["cases"]
    histogram = ingest["histogram"]
    assert histogram["count"] >= ingest["hit_records"]
    shares = [histogram[f"share_le_{s}_s"] for s in ("0_5", "1", "2")]
    assert all(0 <= share <= 1 for share in shares)
    assert shares == sorted(shares)

    assert set(found["targets"]) == {"worklist_under_500_ms", "hit_to_worklist_under_2_s"}
    assert all(t["met"] in (True, False) for t in found["targets"].values())
    report = (results / "workbench.md").read_text()
    assert "## 1. Worklist render time" in report
    assert "## 2. Hit to worklist" in report
    assert "make bench-workbench" in report
