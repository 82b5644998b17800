"""`screening rules publish` against the real rules topic: a rule changed without a new version
is refused, the diff against what is published is shown, --dry-run sends nothing, and the
manifest records who published and why. The session's worker reads this topic: every set
published here keeps the default rules, and the default set is published again at the end."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from pipeline import topics
from pipeline.kafka.reader import read_compacted
from pipeline.rules.publish import MANIFEST_KEY
from pipeline.settings import Settings
from tests.integration.conftest import ROOT

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
            settings.kafka_bootstrap,
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
    return dict(orjson.loads(read_compacted(settings, topics.RULES)[MANIFEST_KEY.encode()]))


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
