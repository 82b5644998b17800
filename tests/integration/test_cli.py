"""The console script against the real broker: send a file, see the hits."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from pipeline.settings import Settings
from tests.factories import filing

pytestmark = pytest.mark.integration


def _screening(settings: Settings, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args, "--bootstrap", settings.kafka.servers],
        capture_output=True,
        timeout=timeout,
    )


def test_send_then_hits_json(
    settings: Settings, worker: object, run_id: str, tmp_path: Path
) -> None:
    file = tmp_path / "declarations.jsonl"
    documents = [filing(f"{run_id}-F1"), filing(f"{run_id}-F2", hs_code="930690")]
    file.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in documents) + b"not json\n")

    sent = _screening(settings, "send", str(file))
    assert sent.returncode == 0, sent.stderr
    assert b"sent 3 messages" in sent.stderr

    deadline = time.monotonic() + 60
    found: list[dict] = []
    while time.monotonic() < deadline and not found:
        shown = _screening(settings, "hits", "--json")
        assert shown.returncode == 0, shown.stderr
        found = [
            h
            for h in map(orjson.loads, shown.stdout.splitlines())
            if h["declaration_id"].startswith(run_id)
        ]
        time.sleep(0.5)
    assert [h["declaration_id"] for h in found] == [f"{run_id}-F2"]


def test_hits_table(settings: Settings, worker: object) -> None:
    shown = _screening(settings, "hits")
    assert shown.returncode == 0, shown.stderr
    assert b"Open referrals" in shown.stdout
