"""A rule set published while declarations flow: workers switch between batches, none lost."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from pipeline import topics
from pipeline.settings import Settings
from tests.factories import encode, filing
from tests.integration.conftest import ROOT, collect, key_prefix

pytestmark = pytest.mark.integration

MARKER_RULE = """\
id: IT-HOT-RELOAD
version: {version}
title: Integration test marker
owner: tests
reason: "marker found in {{description}}"
review_by: 2099-01-01
mode: active
action: RFI
score: {score}
when:
  any_goods:
    description: {{contains: HOT-RELOAD-MARKER}}
cases:
  match:
    - goods: [{{description: "chairs HOT-RELOAD-MARKER"}}]
  no_match:
    - goods: [{{description: "chairs"}}]
"""


def _rule_folder(base: Path, version: int) -> Path:
    folder = base / f"rules-v{version}"
    shutil.copytree(ROOT / "rules", folder)
    (folder / "it_hot_reload.yaml").write_text(MARKER_RULE.format(version=version, score=version))
    return folder


def _publish(settings: Settings, folder: Path) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "rules",
            "publish",
            str(folder),
            "--bootstrap",
            settings.kafka.servers,
        ],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stderr.decode().split("published rule set ")[1].split(":")[0]


def test_published_rules_apply_without_restart_and_nothing_is_lost(
    settings: Settings, worker: object, producer: Producer, run_id: str, tmp_path: Path
) -> None:
    try:
        first = _publish(settings, _rule_folder(tmp_path, 1))
        _wait_until_in_use(settings, producer, run_id, first)
        sent: list[str] = []
        stop = threading.Event()
        switched_at: list[float] = []

        def feed() -> None:
            index = 0
            while not stop.is_set():
                document = filing(f"{run_id}-F{index:05d}")
                document["goods"][0]["description"] = "oak chairs HOT-RELOAD-MARKER"
                key, value = encode(document)
                producer.produce(topics.DECLARATIONS, value, key)
                producer.poll(0)
                sent.append(document["declaration_id"])
                index += 1
                time.sleep(0.01)

        sender = threading.Thread(target=feed)
        sender.start()
        try:
            time.sleep(4)
            second = _publish(settings, _rule_folder(tmp_path, 2))
            switched_at.append(time.monotonic())
            time.sleep(12)
        finally:
            stop.set()
            sender.join()
        assert producer.flush(30) == 0

        records = collect(
            settings,
            topics.ASSESSMENTS,
            key_prefix(f"{run_id}-F"),
            expected=len(sent),
            timeout_s=90,
        )
        assessments = [orjson.loads(r.value) for r in records]
        per_id = Counter(a["declaration_id"] for a in assessments)
        assert set(per_id) == set(sent), "every declaration is assessed"
        assert set(per_id.values()) == {1}, "exactly once"

        in_order = sorted(assessments, key=lambda a: a["declaration_id"])
        assert in_order[0]["ruleset_version"] == first
        assert in_order[-1]["ruleset_version"] == second
        # Kafka orders each partition, not the topic: in every partition, one switch from the
        # first set to the second, never back.
        partitions: dict[int, list[tuple[str, str]]] = {}
        for record, assessment in zip(records, assessments, strict=True):
            partitions.setdefault(record.partition, []).append(
                (assessment["declaration_id"], assessment["ruleset_version"])
            )
        for sequence in partitions.values():
            versions = [version for _, version in sorted(sequence)]
            assert versions == sorted(versions, key=lambda v: (v != first, v == second))
        marker_versions = {
            a["ruleset_version"]: next(
                m["rule_version"] for m in a["matches"] if m["rule_id"] == "IT-HOT-RELOAD"
            )
            for a in in_order
        }
        assert marker_versions == {first: 1, second: 2}
        # The switch came within 10 s of publishing: declarations sent 10 s after it are
        # all screened with the second set (the feed sends one every ~10 ms).
        late = in_order[-200:]
        assert {a["ruleset_version"] for a in late} == {second}
    finally:
        _publish(settings, ROOT / "rules")


def _wait_until_in_use(settings: Settings, producer: Producer, run_id: str, version: str) -> None:
    """Probe with declarations of their own until the worker screens with ``version``."""
    deadline = time.monotonic() + 30
    probe = 0
    while time.monotonic() < deadline:
        key, value = encode(filing(f"{run_id}-PROBE{probe}"))
        producer.produce(topics.DECLARATIONS, value, key)
        assert producer.flush(30) == 0
        found = collect(
            settings, topics.ASSESSMENTS, key_prefix(f"{run_id}-PROBE{probe}"), 1, settle_s=0
        )
        if found and orjson.loads(found[0].value)["ruleset_version"] == version:
            return
        probe += 1
    pytest.fail(f"the worker did not switch to {version} within 30 s")
