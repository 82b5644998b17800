"""A real worker's log: one JSON object a line, its own records and Faust's alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

LIBRARIES = ("faust", "mode", "aiokafka")


def test_every_line_of_the_worker_log_is_json_with_its_fields(worker: Path) -> None:
    text = worker.read_text(encoding="utf-8")
    # The worker is still running: a last line being written may have no newline yet.
    complete = text[: text.rfind("\n") + 1]
    lines = [line for line in complete.splitlines() if line.strip()]
    assert lines, "the worker logged nothing"
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line in the worker log: {line[:300]!r}")
        assert isinstance(record, dict), line[:300]
        for field in ("timestamp", "level", "logger", "event"):
            assert field in record, f"no {field}: {line[:300]}"
        records.append(record)
    loggers = {record["logger"] for record in records}
    assert any(name.split(".")[0] in LIBRARIES for name in loggers), sorted(loggers)
    assert any(name.startswith("pipeline.") for name in loggers), sorted(loggers)
    # What the fixture waits for, as a record of Faust's worker.
    assert any(record["event"].endswith("[^Worker]: Ready") for record in records)
