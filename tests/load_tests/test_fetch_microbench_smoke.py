"""The fetch microbenchmark end to end, small: its own broker, both clients, a backlog and a
steady stream. It asserts that every figure was measured, not how large it is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_fetch_microbench_smoke(tmp_path: Path) -> None:
    results = tmp_path / "fetch.json"
    command = [sys.executable, "-m", "load_tests.fetch_microbench", "--records", "20000"]
    command += ["--rate", "500", "--seconds", "2", "--rounds", "1"]
    command += ["--work-dir", str(tmp_path / "work"), "--json", str(results)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert run.returncode == 0, run.stderr[-3000:]

    found = json.loads(results.read_text())
    assert found["rate_per_s"] == 500
    for what in ("backlog", "steady"):
        for name in ("aiokafka", "confluent"):
            assert found[f"{what}_{name}_holding_gil_us"] > 0, (what, name)
        # Only confluent-kafka has threads of its own (20,000 records take them several of
        # the kernel's 10 ms ticks); aiokafka reads on the caller's.
        assert found[f"{what}_confluent_without_gil_us"] > 0, what
        assert found[f"{what}_aiokafka_without_gil_us"] == 0, what
