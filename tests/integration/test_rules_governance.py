"""`screening rules publish` against the real rules topic: a rule changed without a new version
is refused, the diff against what is published is shown, --dry-run sends nothing, and the
manifest records who published and why. `screening rules status` shows the set a worker screens
with, and a set written to the topic that the worker refuses (counted on its /metrics). The
session's worker reads this topic: every set published here keeps the default rules, and the
default set is published again at the end."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from pipeline import topics
from pipeline.kafka.producer import producer_config
from pipeline.kafka.reader import read_compacted
from pipeline.rules.publish import MANIFEST_KEY
from pipeline.settings import Settings
from tests.integration.conftest import ROOT, WorkerProcess, spawn_worker

pytestmark = pytest.mark.integration

MARKER = """\
id: IT-GOVERNANCE
version: {version}
title: {title}
owner: tests
reason: "governance marker in {{description}}"
review_by: 2099-01-01
mode: shadow
action: RFI
score: 1
when:
  any_goods:
    description: {{contains: GOVERNANCE-MARKER}}
cases:
  match:
    - goods: [{{description: "chairs GOVERNANCE-MARKER"}}]
"""


def _publish(settings: Settings, folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "rules",
            "publish",
            str(folder),
            "--bootstrap",
            settings.kafka.servers,
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def _folder(base: Path, name: str, version: int, title: str) -> Path:
    folder = base / name
    shutil.copytree(ROOT / "rules", folder)
    (folder / "it_governance.yaml").write_text(MARKER.format(version=version, title=title))
    return folder


def _manifest(settings: Settings) -> dict[str, object]:
    return dict(orjson.loads(read_compacted(settings.kafka, topics.RULES)[MANIFEST_KEY.encode()]))


def test_versions_are_enforced_and_the_manifest_says_who_and_why(
    settings: Settings, worker: object, tmp_path: Path
) -> None:
    try:
        default = _publish(settings, ROOT / "rules", "--reason", "default rules")
        assert default.returncode == 0, default.stderr
        first = _publish(
            settings,
            _folder(tmp_path, "one", 1, "Governance marker"),
            "--reason",
            "add the governance marker",
            "--by",
            "it-analyst",
        )
        assert first.returncode == 0, first.stderr
        assert "    IT-GOVERNANCE v1 shadow RFI" in first.stderr
        published = _manifest(settings)
        assert published["published_by"] == "it-analyst"
        assert published["reason"] == "add the governance marker"
        assert published["rules"]["IT-GOVERNANCE"] == 1  # type: ignore[index]

        # The text changed, the version did not: refused, nothing published.
        same_version = _folder(tmp_path, "two", 1, "Governance marker, reworded")
        refused = _publish(settings, same_version, "--reason", "reword")
        assert refused.returncode == 1
        assert (
            f"{same_version / 'it_governance.yaml'}: rule IT-GOVERNANCE: changed without a new "
            "version: raise `version` to 2"
        ) in refused.stderr
        assert _manifest(settings) == published

        # The version raised: --dry-run shows the diff and sends nothing...
        raised = _folder(tmp_path, "three", 2, "Governance marker, reworded")
        dry = _publish(settings, raised, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert f"against rule set {published['ruleset_version']} on the topic" in dry.stderr
        assert "    IT-GOVERNANCE version 1 -> 2" in dry.stderr
        assert "      -title: Governance marker" in dry.stderr
        assert "      +title: Governance marker, reworded" in dry.stderr
        assert "not published" in dry.stderr
        assert _manifest(settings) == published

        # ... and without it, publishes, with who and why in the manifest.
        done = _publish(settings, raised, "--reason", "reword the marker", "--by", "it-analyst")
        assert done.returncode == 0, done.stderr
        assert "    IT-GOVERNANCE version 1 -> 2" in done.stderr
        manifest = _manifest(settings)
        assert manifest["ruleset_version"] != published["ruleset_version"]
        assert manifest["previous_ruleset_version"] == published["ruleset_version"]
        assert manifest["reason"] == "reword the marker"
        assert manifest["changes"] == {
            "added": [],
            "retired": [],
            "changed": {"IT-GOVERNANCE": [1, 2]},
            "lists": [],
        }
    finally:
        # The session's worker screens with the default rules again, as other tests expect.
        restored = _publish(settings, ROOT / "rules", "--reason", "integration test done")
        assert restored.returncode == 0, restored.stderr
    assert "IT-GOVERNANCE" not in _manifest(settings)["rules"]  # type: ignore[operator]


def _status(settings: Settings) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "rules",
            "status",
            "--json",
            "--bootstrap",
            settings.kafka.servers,
        ],
        capture_output=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr.decode()
    return dict(orjson.loads(done.stdout))


def _until(what: str, check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(1.0)
    pytest.fail(f"not within {timeout_s:g} s: {what}")


def _row(settings: Settings, worker_id: str) -> dict[str, Any] | None:
    document = _status(settings)
    rows = [w for w in document["workers"] if w["worker"] == worker_id]
    return {**rows[0], "latest_published": document["latest"]["ruleset_version"]} if rows else None


def _metrics(worker: WorkerProcess) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/metrics", timeout=5) as r:
        return str(r.read().decode())


def test_rules_status_shows_each_worker_and_a_refused_set(
    settings: Settings, worker: object, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    try:
        first = _publish(
            settings, _folder(tmp_path, "one", 1, "Governance marker"), "--reason", "status test"
        )
        assert first.returncode == 0, first.stderr
        version = first.stderr.split("published rule set ")[1].split(":")[0]
        own = spawn_worker(
            settings,
            tmp_path,
            log_name="status-worker.log",
            extra_env={"SCREENING_WORKER_STATUS_INTERVAL_S": "2"},
        )
        workers.append(own)
        worker_id = f"{socket.gethostname()}:{own.web_port}"

        row = _until(
            f"{worker_id} reports {version}",
            lambda: (r := _row(settings, worker_id)) and r["ruleset_version"] == version and r,
        )
        assert row["latest"] is True
        assert row["latest_published"] == version
        assert row["stale"] is False
        assert row["refused"] == []
        assert "\nscreening_ruleset_refused_total 0.0\n" in _metrics(own)

        # A set that fails the worker's checks, written straight to the topic (the CLI would
        # not send it): a rule with an action no rule may have.
        live = read_compacted(settings.kafka, topics.RULES)
        manifest = dict(orjson.loads(live[MANIFEST_KEY.encode()]))
        broken_version = f"rs-broken{uuid.uuid4().hex[:6]}"
        rule = dict(orjson.loads(live[b"IT-GOVERNANCE"]), version=2, action="EXPLODE")
        manifest.update(
            ruleset_version=broken_version, rules={**manifest["rules"], "IT-GOVERNANCE": 2}
        )
        producer = Producer(producer_config(settings.kafka))
        producer.produce(topics.RULES, orjson.dumps(rule), b"IT-GOVERNANCE")
        producer.produce(topics.RULES, orjson.dumps(manifest), MANIFEST_KEY.encode())
        assert producer.flush(30) == 0

        def refusal_counted() -> str | None:
            text = _metrics(own)
            return text if "screening_ruleset_refused_total 1.0" in text else None

        metrics = _until("the refusal counted on /metrics", refusal_counted)
        assert "\nscreening_ruleset_refused_total 1.0\n" in metrics
        assert f'screening_ruleset_refused_info{{version="{broken_version}"}} 1.0' in metrics
        assert f'screening_ruleset_info{{version="{version}"}} 1.0' in metrics

        row = _until(
            f"{worker_id} reports the refusal",
            lambda: (r := _row(settings, worker_id)) and r["refused"] and r,
        )
        assert row["refused"] == [broken_version]
        assert row["ruleset_version"] == version
        assert row["latest_published"] == broken_version
        assert row["latest"] is False

        # Stopped cleanly, the worker leaves the listing (its tombstone).
        own.stop()
        assert own.process.returncode == 0
        _until(f"{worker_id} gone", lambda: _row(settings, worker_id) is None, timeout_s=30)
    finally:
        restored = _publish(settings, ROOT / "rules", "--reason", "integration test done")
        assert restored.returncode == 0, restored.stderr
