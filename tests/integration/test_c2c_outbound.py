"""Risk findings for partner administrations through the real broker: a referral on a route
through a partner's country gives a RISK_FINDING on customs.c2c.outbound.v1, keyed by the UCR,
with nothing of the rules, the score or the parties in it; a broken agreements folder keeps the
worker from starting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from pipeline import topics
from pipeline.settings import Settings
from tests.factories import encode, filing
from tests.integration.conftest import (
    ROOT,
    WorkerProcess,
    collect,
    key_prefix,
    publish,
    spawn_worker,
)

pytestmark = pytest.mark.integration


def _agreements(folder: Path) -> Path:
    """The repo's CN agreement, allowing MEDIUM findings (an HRCM) too."""
    folder.mkdir()
    text = (ROOT / "agreements" / "cn.yaml").read_text()
    assert "    levels: [HIGH]\n" in text
    (folder / "cn.yaml").write_text(
        text.replace("    levels: [HIGH]\n", "    levels: [HIGH, MEDIUM]\n", 1)
    )
    return folder


def test_an_hrcm_on_a_cn_route_sends_a_finding_keyed_by_ucr(
    settings: Settings,
    workers: list[WorkerProcess],
    producer: Producer,
    run_id: str,
    tmp_path: Path,
) -> None:
    env = {
        "SCREENING_AGREEMENTS_DIR": str(_agreements(tmp_path / "agreements")),
        "SCREENING_ADMINISTRATION": "NL",
    }
    workers.append(spawn_worker(settings, tmp_path, extra_env=env))
    document = filing(f"{run_id}-1", hs_code="930690")
    document["ucr"] = f"{run_id}-UCR"
    document["transport"] = {
        **document["transport"],
        "loading_location": "CNSHA",
        "discharge_location": "NLRTM",
        "routing_countries": ["CN", "NL"],
    }
    publish(producer, [encode(document)])

    # The session's worker, if one runs, screens it too (a group of its own); its agreements are
    # the repository's, under which a MEDIUM finding stays home: one finding, from this worker.
    assessments = collect(settings, topics.ASSESSMENTS, key_prefix(run_id), expected=1)
    assert assessments
    assert {orjson.loads(a.value or b"")["outcome"] for a in assessments} == {"HRCM"}
    (finding,) = collect(settings, topics.C2C_OUTBOUND, key_prefix(run_id), expected=1)
    assert finding.key == f"{run_id}-UCR".encode()
    raw = finding.value or b""
    message = orjson.loads(raw)
    assert message["kind"] == "RISK_FINDING"
    assert (message["from_administration"], message["to_administration"]) == ("NL", "CN")
    assert message["level"] == "MEDIUM"
    assert message["declaration_ref"] == f"{run_id}-1"
    for never in (b"HS-ARMS-93", b"rule", b"score", b"NINGBO", b"MUELLER", b"NORDIC", b"NO1"):
        assert never not in raw


def test_a_broken_agreements_folder_refuses_to_start(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "cn.yaml").write_text("partner: cn\nalias: CN\n")
    (tmp_path / "us.yaml").write_text("- not an agreement\n")
    env = {
        **os.environ,
        "SCREENING_KAFKA_BOOTSTRAP": settings.kafka.servers,
        "SCREENING_AGREEMENTS_DIR": str(tmp_path),
        "SCREENING_DATA_DIR": str(tmp_path / "state"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "worker", "--no-ensure-topics"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr.decode()
    stderr = done.stderr.decode()
    assert "sharing agreements refused" in stderr
    assert str(tmp_path / "cn.yaml") in stderr
    assert str(tmp_path / "us.yaml") in stderr
