"""deploy/prometheus: promtool accepts the config and the rules, and the alert unit tests pass,
cover every alert both ways, and fail when an alert is broken."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.binaries import require

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
RUNBOOK = ROOT / "docs" / "runbook.md"


def _alerts(rule_file: Path = PROMETHEUS_DIR / "alerts.yml") -> list[dict[str, Any]]:
    document = yaml.safe_load(rule_file.read_text())
    return [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]


ALERT_NAMES = [rule["alert"] for rule in _alerts()]


def _promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_promtool_accepts_the_config() -> None:
    done = _promtool("check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 rule files found" in done.stdout


def test_promtool_accepts_the_rules() -> None:
    done = _promtool("check", "rules", "recording.yml", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_alert_unit_tests_pass() -> None:
    done = _promtool("test", "rules", *(str(path) for path in RULE_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(RULE_TESTS)


def _cases() -> list[tuple[str, bool]]:
    """(alert name, whether the case expects it firing) for every alert_rule_test case."""
    cases = []
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.append((case["alertname"], bool(case.get("exp_alerts"))))
    return cases


@pytest.mark.parametrize("alert", ALERT_NAMES)
def test_every_alert_is_tested_firing_and_quiet(alert: str) -> None:
    cases = _cases()
    assert (alert, True) in cases, f"no unit test where {alert} fires"
    assert (alert, False) in cases, f"no unit test where {alert} stays quiet"


def _github_anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("rule", _alerts(), ids=ALERT_NAMES)
def test_every_alert_has_severity_text_and_a_runbook_section(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"warning", "critical"}
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    assert annotations["description"].strip()
    anchors = {
        _github_anchor(line.lstrip("#"))
        for line in RUNBOOK.read_text().splitlines()
        if line.startswith("## ")
    }
    # Absolute where Prometheus renders it: the external label runbook_base is the
    # runbook's address (test_monitoring_config.py checks it).
    page, _, anchor = annotations["runbook_url"].partition("#")
    assert page == "{{ $externalLabels.runbook_base }}"
    assert anchor == rule["alert"].lower()
    assert anchor in anchors, f"docs/runbook.md has no section #{anchor}"


def _run_tests_with(tmp_path: Path, alert: str, change: dict[str, Any]) -> str:
    """Run the unit tests against a copy of the rules where ``alert`` is changed; the output."""
    shutil.copytree(PROMETHEUS_DIR, tmp_path, dirs_exist_ok=True)
    document = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule.update(change)
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(document))
    # Only the files that test this alert: the others pass either way.
    files = [path.name for path in RULE_TESTS if f"alertname: {alert}\n" in path.read_text()]
    done = _promtool("test", "rules", *files, cwd=tmp_path / "tests")
    assert done.returncode != 0, f"the unit tests still pass with {alert} changed to {change}"
    return done.stdout + done.stderr


@pytest.mark.parametrize("alert", ALERT_NAMES)
def test_the_unit_tests_catch_a_broken_alert(alert: str, tmp_path: Path) -> None:
    never = _run_tests_with(tmp_path / "never", alert, {"expr": "vector(1) < 0"})
    always = _run_tests_with(tmp_path / "always", alert, {"expr": "vector(1)", "for": "0s"})
    hasty = _run_tests_with(tmp_path / "hasty", alert, {"for": "0s"})
    for output in (never, always, hasty):
        assert f"alertname: {alert}," in output
