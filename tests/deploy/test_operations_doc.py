"""docs/operations.md: its configuration reference is what the settings model generates, its
alert table links every alert's runbook section, and its capacity figures are the benchmark's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from pipeline.ops import settings_doc
from pipeline.settings import VARIABLES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"
RUNBOOK = ROOT / "docs" / "runbook.md"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
BENCH = ROOT / "load_tests" / "results" / "bench.json"
SCALE = ROOT / "load_tests" / "results" / "scale.json"


def test_committed_configuration_reference_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text == settings_doc.render(text), (
        "docs/operations.md is out of date: run python -m pipeline.ops.settings_doc"
    )


def test_check_mode_reports_an_out_of_date_doc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "operations.md"
    doc.write_text(f"# Ops\n\n{settings_doc.BEGIN}\nold table\n{settings_doc.END}\n\nafter\n")
    assert settings_doc.main(["--check"], doc=doc) == 1
    assert "operations.md" in capsys.readouterr().err
    assert settings_doc.main([], doc=doc) == 0
    assert settings_doc.main(["--check"], doc=doc) == 0
    assert doc.read_text().endswith(f"{settings_doc.END}\n\nafter\n")


def test_every_setting_is_documented_with_its_variable() -> None:
    reference = settings_doc.table()
    for name, variable in VARIABLES.items():
        assert variable.info.description, f"{name} has no description in pipeline/settings.py"
        assert f"`{settings_doc.variable(name)}`" in reference


def _runbook_anchors() -> set[str]:
    headings = re.findall(r"^## (\S+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    return {heading.lower() for heading in headings}


def test_every_alert_links_its_runbook_section() -> None:
    text = DOC.read_text()
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    alerts = [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]
    anchors = _runbook_anchors()
    for alert in alerts:
        assert f"(runbook.md#{alert.lower()})" in text, alert
    for anchor in re.findall(r"\(runbook\.md#([a-z]+)\)", text):
        assert anchor in anchors, anchor


def test_local_links_point_to_files_that_exist() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", DOC.read_text()):
        if not target.startswith("http"):
            assert (DOC.parent / target).exists(), target


def _figure(value: float) -> str:
    return f"{round(value):,}"


def test_capacity_plan_quotes_the_benchmark() -> None:
    text = DOC.read_text()
    bench = json.loads(BENCH.read_text())
    for value in (
        bench["pipeline_per_s"],
        bench["pipeline_1000_rules_per_s"],
        bench["pipeline_pinned_per_s"],
        bench["worker_rss_mb"],
        bench["p99_ms"],
    ):
        assert _figure(value) in text, f"{_figure(value)} is not in the capacity plan"


def test_capacity_plan_quotes_the_scale_out_measurement() -> None:
    runs = json.loads(SCALE.read_text())["runs"]
    figures = " / ".join(_figure(runs[workers]["per_s"]) for workers in ("1", "2", "3"))
    assert f"| {figures} declarations/s |" in DOC.read_text()
