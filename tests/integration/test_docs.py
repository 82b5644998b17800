"""README.md, docs/targeting-officers.md and docs/risk-analysts.md, every command in order,
against the test broker: the offline steps and the ones that need Kafka."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.settings import Settings
from tests.binaries import require
from tests.doc_commands import ROOT, run, steps, workdir

pytestmark = pytest.mark.integration


def test_officer_commands_run_against_the_broker(
    settings: Settings, worker: object, tmp_path: Path
) -> None:
    folder = workdir(tmp_path)
    for step in steps(ROOT / "docs" / "targeting-officers.md"):
        run(step, folder, settings.kafka.servers)
    assert (folder / "open-referrals.jsonl").exists()


def test_the_readme_commands_run_against_the_broker(
    settings: Settings, worker: object, tmp_path: Path
) -> None:
    folder = workdir(tmp_path)
    readme = steps(ROOT / "README.md")
    assert [s.kind for s in readme].count("broker") >= 2
    for step in readme:
        run(step, folder, settings.kafka.servers)
    assert (folder / "open-referrals.jsonl").exists()


def test_analyst_workflow_runs_against_the_broker(
    settings: Settings, worker: object, tmp_path: Path
) -> None:
    require("kcat", "kcat")
    folder = workdir(tmp_path)
    try:
        for step in steps(ROOT / "docs" / "risk-analysts.md"):
            run(step, folder, settings.kafka.servers)
    finally:
        # The session's worker screens with the default rules again, as other tests expect.
        restored = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipeline",
                "rules",
                "publish",
                str(ROOT / "rules"),
                "--bootstrap",
                settings.kafka.servers,
            ],
            capture_output=True,
            timeout=120,
            cwd=ROOT,
        )
        assert restored.returncode == 0, restored.stderr.decode()
