"""The generated dashboards are portable: the datasource, job and instance are variables that
every query follows, rule-set publications are marked, the runbook is linked, and every metric
the worker, the workbench and the archiver define is on a panel."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from pipeline import metrics
from pipeline.archive import metrics as archive_metrics
from pipeline.ops import dashboards
from pipeline.ops.promql import dashboard_expressions, rule_expressions, selectors
from pipeline.workbench import metrics as workbench_metrics

ROOT = Path(__file__).resolve().parents[3]
RULE_FILES = [ROOT / "deploy" / "prometheus" / name for name in ("recording.yml", "alerts.yml")]
RUNBOOK = ROOT / "docs" / "runbook.md"
NAMES = sorted(dashboards.DASHBOARDS)
WORKER_DASHBOARDS = ("operations.json", "targeting.json")
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
JOB = 'job=~"$job"'
INSTANCE = 'instance=~"$instance"'


@pytest.fixture(scope="module")
def built() -> dict[str, dict[str, Any]]:
    return {name: build() for name, build in dashboards.DASHBOARDS.items()}


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _datasources(node: object) -> Iterator[Mapping[str, Any]]:
    """Every datasource reference anywhere in the document."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "datasource" and isinstance(value, Mapping):
                yield value
            else:
                yield from _datasources(value)
    elif isinstance(node, list):
        for item in node:
            yield from _datasources(item)


def _variables(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in document["templating"]["list"]}


@pytest.mark.parametrize("name", NAMES)
def test_datasource_job_and_instance_are_variables(
    built: dict[str, dict[str, Any]], name: str
) -> None:
    variables = _variables(built[name])
    assert list(variables) == ["datasource", "job", "instance"]
    source = variables["datasource"]
    assert (source["type"], source["query"]) == ("datasource", "prometheus")
    # By default the provisioned Prometheus (deploy/grafana/provisioning), any other to choose.
    assert source["current"]["value"] == dashboards.DATASOURCE_UID
    job, instance = variables["job"], variables["instance"]
    assert re.fullmatch(r"label_values\(\w+, job\)", job["query"])
    assert instance["query"] == f"label_values(up{{{JOB}}}, instance)"
    for variable in (job, instance):
        assert variable["type"] == "query"
        assert variable["multi"]
        assert variable["includeAll"]
        assert variable["datasource"] == DATASOURCE


@pytest.mark.parametrize("name", NAMES)
def test_no_datasource_is_fixed(built: dict[str, dict[str, Any]], name: str) -> None:
    references = list(_datasources(built[name]))
    assert len(references) > len(dashboard_expressions(built[name]))
    for reference in references:
        assert reference == DATASOURCE


def _kept_labels() -> dict[str, str]:
    """Recorded series name -> its rule's expression."""
    return {
        str(rule["record"]): str(rule["expr"])
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def _keeps(recorded: Mapping[str, str], name: str, label: str) -> bool:
    """Whether the series recorded as ``name`` keeps ``label``: every aggregation of its rule
    groups by it, and so does every recorded series the rule reads."""
    expr = recorded[name]
    if re.search(r"\bwithout\s*\(", expr):
        return False
    groupings = re.findall(r"\bby\s*\(([^)]*)\)", expr)
    if any(label not in {g.strip() for g in grouping.split(",")} for grouping in groupings):
        return False
    return all(_keeps(recorded, s.metric, label) for s in selectors(expr) if s.metric in recorded)


@pytest.mark.parametrize("name", NAMES)
def test_every_selector_is_filtered_by_job_and_instance(
    built: dict[str, dict[str, Any]], name: str
) -> None:
    recorded = _kept_labels()
    for title, expr in dashboard_expressions(built[name]):
        found = selectors(expr)
        assert found, f"{title}: {expr}"
        for selector in found:
            matchers = selector.matchers
            assert matchers.startswith(JOB), f"{title}: {selector.metric}"
            # No second, fixed job matcher narrowing the variable's choice.
            assert len(re.findall(r"(?:^|,)\s*job\s*[=!]", matchers)) == 1, title
            if selector.metric in recorded and not _keeps(recorded, selector.metric, "instance"):
                # The rule aggregated instance away: a matcher on it would match nothing.
                assert "instance" not in matchers, f"{title}: {selector.metric}"
            else:
                assert matchers.startswith(f"{JOB},{INSTANCE}"), f"{title}: {selector.metric}"
            if selector.metric in recorded:
                assert _keeps(recorded, selector.metric, "job"), selector.metric


def test_recorded_series_scope_follows_the_rules() -> None:
    recorded = _kept_labels()
    for name in recorded:
        assert _keeps(recorded, name, "job"), name
        filters_instance = INSTANCE in dashboards.scope(name)
        assert filters_instance == _keeps(recorded, name, "instance"), name


def test_a_dashboard_query_missing_the_filter_is_caught() -> None:
    assert selectors('sum(rate(x{outcome="A"}[5m])) / y')[0].matchers == 'outcome="A"'
    assert dashboards.scoped('sum(rate(x{outcome="A"}[5m])) / y') == (
        f'sum(rate(x{{{JOB},{INSTANCE},outcome="A"}}[5m])) / y{{{JOB},{INSTANCE}}}'
    )


@pytest.mark.parametrize("name", NAMES)
def test_rule_set_publications_are_annotated(built: dict[str, dict[str, Any]], name: str) -> None:
    (annotation,) = built[name]["annotations"]["list"]
    assert annotation["enable"]
    assert annotation["datasource"] == DATASOURCE
    expr = annotation["expr"]
    assert "changes(screening_ruleset_published_timestamp_seconds" in expr
    # Named by the rule set's version: a label that holds no personal data.
    assert annotation["titleFormat"] == "Rule set {{version}}"
    assert re.search(r"\bby \(version\)", expr)
    metrics_read = {s.metric for s in selectors(expr)}
    assert metrics_read == {
        "screening_ruleset_info",
        "screening_ruleset_published_timestamp_seconds",
    }
    if name in WORKER_DASHBOARDS:
        assert all(s.matchers == f"{JOB},{INSTANCE}" for s in selectors(expr))


def _alerts() -> set[str]:
    return {name for name, _ in rule_expressions(yaml.safe_load(RULE_FILES[1].read_text()))}


@pytest.mark.parametrize("name", NAMES)
def test_the_runbook_is_linked(built: dict[str, dict[str, Any]], name: str) -> None:
    (link,) = built[name]["links"]
    assert (link["type"], link["url"]) == ("link", dashboards.DEFAULT_RUNBOOK)
    anchors = {h.lower() for h in re.findall(r"^## (\S+)$", RUNBOOK.read_text(), re.MULTILINE)}
    alerts = {alert.lower() for alert in _alerts()}
    linked = [
        panel_link["url"]
        for panel in _panels(built[name]["panels"])
        for panel_link in panel.get("links", [])
    ]
    assert linked, "no panel links its alert's runbook section"
    for url in linked:
        base, anchor = url.split("#")
        assert base == dashboards.DEFAULT_RUNBOOK
        assert anchor in anchors, anchor
        assert anchor in alerts, anchor


def test_alerting_panels_link_their_sections(built: dict[str, dict[str, Any]]) -> None:
    panels = {p["title"]: p for p in _panels(built["operations.json"]["panels"])}
    titles = [link["title"] for link in panels["Lag age by partition"]["links"]]
    assert titles == ["Runbook: ScreeningConsumerLagHigh", "Runbook: ScreeningConsumerLagCritical"]
    assert "links" not in panels["Batch size"] or not panels["Batch size"]["links"]


def test_runbook_address_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(dashboards.RUNBOOK_VARIABLE, "https://wiki.example/screening-runbook")
    document = dashboards.operations()
    links = document["links"]
    assert isinstance(links, list)
    assert links[0]["url"] == "https://wiki.example/screening-runbook"
    assert "https://wiki.example/screening-runbook#screeningpipelinestalled" in (
        dashboards.render(dashboards.operations)
    )


def _defined(registry: CollectorRegistry, skip: set[str]) -> dict[str, set[str]]:
    """screening_* family -> the series names that show it is used."""
    found = {}
    for family in registry.collect():
        if not family.name.startswith("screening_") or family.name in skip:
            continue
        if family.type == "counter":
            found[family.name] = {f"{family.name}_total"}
        elif family.type == "histogram":
            found[family.name] = {f"{family.name}_{s}" for s in ("bucket", "sum", "count")}
        else:
            found[family.name] = {family.name}
    return found


def test_every_metric_is_on_a_dashboard(built: dict[str, dict[str, Any]]) -> None:
    """Every metric of pipeline/metrics.py, pipeline/workbench/metrics.py and
    pipeline/archive/metrics.py is read by a panel, directly or through a recording rule the
    panel reads."""
    # What a worker registers at runtime (rule set, reference data, partner links) is not
    # declared in pipeline/metrics.py; earlier tests may have registered it.
    runtime = {
        family.name for collector in metrics._collectors.values() for family in collector.collect()
    }
    defined = (
        _defined(metrics.REGISTRY, runtime)
        | _defined(workbench_metrics.REGISTRY, set())
        | _defined(archive_metrics.REGISTRY, set())
    )
    assert {
        "screening_rule_referrals",
        "screening_workbench_case_actions",
        "screening_archive_records",
    } <= set(defined)
    recorded = _kept_labels()
    read: set[str] = set()
    pending = [
        s.metric for d in built.values() for _, e in dashboard_expressions(d) for s in selectors(e)
    ]
    while pending:
        metric = pending.pop()
        if metric not in read:
            read.add(metric)
            if metric in recorded:
                pending.extend(s.metric for s in selectors(recorded[metric]))
    missing = sorted(name for name, series in defined.items() if not series & read)
    assert not missing, f"on no dashboard: {missing}"
