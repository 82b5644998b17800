"""Version state survives a restart: a new worker process of the same group rebuilds it from
the changelog that the previous one wrote, and goes on from there."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from pipeline import topics
from pipeline.settings import Settings
from tests.factories import amendment, encode, filing
from tests.integration.conftest import (
    collect,
    key_prefix,
    publish,
    spawn_worker,
    wait_committed,
)

pytestmark = pytest.mark.integration


def test_a_restarted_worker_remembers_versions_and_open_referrals(
    settings: Settings, producer: Producer, run_id: str, tmp_path: Path
) -> None:
    app_id = f"screening-state-{run_id.lower()}"
    referred = filing(f"{run_id}-REFERRED", hs_code="930690")
    first = spawn_worker(settings, tmp_path, app_id=app_id, log_name="first.log")
    try:
        publish(producer, [encode(referred)])
        collect(settings, topics.HITS, key_prefix(run_id), expected=1, settle_s=0.5)
        # Committed, so that the next worker does not screen version 1 again: what it knows of
        # version 1 can only come from the table's changelog.
        wait_committed(settings, app_id, topics.DECLARATIONS)
    finally:
        first.stop()

    second = spawn_worker(settings, tmp_path, app_id=app_id, log_name="second.log")
    try:
        publish(producer, [encode(amendment(referred, 2, "940360"))])
        counters = _wait_for_counters(second.web_port, "screening_declarations_consumed_total")
        assessments = collect(settings, topics.ASSESSMENTS, key_prefix(run_id), expected=2)
    finally:
        second.stop()

    # Other workers of the test session screen the same topic: the second worker's own
    # counters tell what it did. It read version 2 only (version 1 was committed), yet closed
    # version 1's referral: it knew of it from the table's changelog.
    assert counters["screening_declarations_consumed_total"] == 1
    assert counters["screening_hit_tombstones_total"] == 1
    amended = [orjson.loads(r.value) for r in assessments if orjson.loads(r.value)["version"] == 2]
    assert amended
    assert all(a["superseded_versions"] == [1] for a in amended)
    assert all(a["outcome"] == "ASSESSMENT_COMPLETE" for a in amended)


def _wait_for_counters(port: int, until: str, timeout_s: float = 60.0) -> dict[str, float]:
    """The worker's unlabelled counters, once ``until`` is above zero."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            text = response.read().decode()
        counters = {
            sample.name: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if not sample.labels
        }
        if counters.get(until, 0) > 0:
            return counters
        time.sleep(0.5)
    pytest.fail(f"{until} still 0 after {timeout_s} s")
