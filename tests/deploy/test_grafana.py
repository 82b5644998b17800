"""deploy/grafana: the committed dashboards are what the code builds, well formed, on the
chosen datasource (the provisioned one by default), with PromQL that Prometheus parses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.ops import dashboards
from pipeline.ops.promql import dashboard_expressions, expand_grafana_macros
from tests.binaries import require

GRAFANA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
NAMES = sorted(dashboards.DASHBOARDS)


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((GRAFANA_DIR / "dashboards" / name).read_text())
    return document


@pytest.mark.parametrize("name", NAMES)
def test_committed_dashboard_is_what_the_code_builds(name: str) -> None:
    committed = (GRAFANA_DIR / "dashboards" / name).read_text()
    assert committed == dashboards.render(dashboards.DASHBOARDS[name]), (
        f"{name} is out of date: run python -m pipeline.ops.dashboards"
    )


def test_check_mode_reports_an_out_of_date_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dashboards, "DASHBOARD_DIR", tmp_path)
    assert dashboards.main([]) == 0
    assert dashboards.main(["--check"]) == 0
    (tmp_path / "targeting.json").write_text("{}\n")
    assert dashboards.main(["--check"]) == 1
    assert "targeting.json" in capsys.readouterr().err


@pytest.mark.parametrize("name", NAMES)
def test_every_panel_is_placed_numbered_and_queries_the_chosen_datasource(
    name: str,
) -> None:
    document = _load(name)
    panels = document["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    occupied: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert all(isinstance(grid[key], int) for key in ("h", "w", "x", "y")), panel["title"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (grid["x"] + dx, grid["y"] + dy) for dx in range(grid["w"]) for dy in range(grid["h"])
        }
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
        if panel["type"] == "row":
            continue
        assert panel["title"]
        assert panel["description"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["expr"].strip()
            assert target["datasource"]["uid"] == "${datasource}"


def _row_titles(name: str) -> list[str]:
    return [panel["title"] for panel in _load(name)["panels"] if panel["type"] == "row"]


def test_operations_rows() -> None:
    assert _row_titles("operations.json") == [
        "Throughput and errors",
        "Latency",
        "Consumer lag",
        "Per worker",
        "Reference data and rule set",
    ]


def test_targeting_shows_referrals_rule_hits_and_shadow_rules() -> None:
    expressions = " ".join(expr for _, expr in dashboard_expressions(_load("targeting.json")))
    for metric in (
        "screening_hits_total",
        "screening_rule_matches_total",
        "screening_shadow_matches_total",
        "topk(10",
    ):
        assert metric in expressions


def test_targeting_ends_with_the_safe_performance_measures() -> None:
    assert _row_titles("targeting.json")[-1] == "SAFE performance measures"
    panels = _load("targeting.json")["panels"]
    start = next(
        i for i, panel in enumerate(panels) if panel["title"] == "SAFE performance measures"
    )
    expressions = " ".join(
        target["expr"] for panel in panels[start + 1 :] for target in panel["targets"]
    )
    for metric in (
        'screening_assessments_total{job=~"$job",instance=~"$instance",outcome!="INVALIDATED"}',
        "screening_hits_total",
        'rule_id="RANDOM-SELECTION"',
        "screening_rule_seizures_total",
        'screening_examination_results_total{job=~"$job",instance=~"$instance",'
        'disposition="joined"}',
        "sum by (partner, kind) (increase(screening_partner_messages_sent_total{",
        "max by (partner, kind, result) (increase(screening_partner_messages_received_total{",
    ):
        assert metric in expressions


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query as the expression of a recording rule."""
    rules = [
        {"record": f"dashboard:query_{number}", "expr": expand_grafana_macros(expr)}
        for number, (_, expr) in enumerate(
            pair for name in NAMES for pair in dashboard_expressions(_load(name))
        )
    ]
    rule_file = tmp_path / "dashboard_queries.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    done = subprocess.run(
        [require("promtool"), "check", "rules", str(rule_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout


def test_datasource_provisioning_has_the_fixed_uid_and_an_overridable_url() -> None:
    provisioning = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    (source,) = provisioning["datasources"]
    assert source["uid"] == dashboards.DATASOURCE_UID
    assert source["type"] == "prometheus"
    assert source["url"] == "${PROMETHEUS_URL}"


def test_dashboard_provider_reads_files() -> None:
    provisioning = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "screening.yml").read_text()
    )
    (provider,) = provisioning["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"]
