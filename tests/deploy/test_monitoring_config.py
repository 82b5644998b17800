"""Monitoring around the alerts: the runbook address every alert links to, the lag exporter
(compose and Kubernetes), Alertmanager, the Kafka UI, and the Prometheus Operator's manifests,
which must say what deploy/prometheus says."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from pipeline import topics
from pipeline.ops import dashboards
from pipeline.settings import VARIABLES, Settings
from tests.binaries import require
from tests.deploy.settings_env import settings_from
from tests.deploy.tools_env import require_tool

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_PROMETHEUS = ROOT / "deploy" / "compose" / "prometheus.yml"
K8S_DIR = ROOT / "deploy" / "k8s"
K8S_SCRAPE = K8S_DIR / "prometheus" / "scrape-config.yml"
OPERATOR_DIR = K8S_DIR / "prometheus-operator"
EXPORTER_MANIFEST = K8S_DIR / "kafka-exporter.yaml"
ALERTMANAGER_CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
RUNBOOK = ROOT / "docs" / "runbook.md"
EXPORTER_PORT = 9308


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _alerts() -> list[dict[str, Any]]:
    groups = _alerts_file()["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def _alerts_file() -> dict[str, Any]:
    found: dict[str, Any] = _yaml(PROMETHEUS_DIR / "alerts.yml")
    return found


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    found: dict[str, Any] = _yaml(COMPOSE_FILE)["services"]
    return found


# --- runbook_url: absolute, from one external label ---------------------------------------------


@pytest.mark.parametrize(
    "config", [PROMETHEUS_DIR / "prometheus.yml", COMPOSE_PROMETHEUS, K8S_SCRAPE], ids=str
)
def test_every_prometheus_config_names_the_runbook_base(config: Path) -> None:
    base = _yaml(config)["global"]["external_labels"]["runbook_base"]
    project = _yaml(PROMETHEUS_DIR / "prometheus.yml")["global"]["external_labels"]
    assert base == project["runbook_base"]
    url = urlparse(base)
    assert url.scheme == "https"
    assert url.netloc
    assert not url.fragment, "the alert adds the anchor"


def test_the_operator_kustomization_tells_the_same_runbook_base() -> None:
    base = _yaml(PROMETHEUS_DIR / "prometheus.yml")["global"]["external_labels"]["runbook_base"]
    assert f"runbook_base: {base}" in (OPERATOR_DIR / "kustomization.yaml").read_text()


def test_every_runbook_url_is_the_base_and_the_alerts_section() -> None:
    anchors = set(re.findall(r"^## (\S+)$", RUNBOOK.read_text(), flags=re.MULTILINE))
    for rule in _alerts():
        url = rule["annotations"]["runbook_url"]
        assert url == "{{ $externalLabels.runbook_base }}#" + rule["alert"].lower()
        assert rule["alert"] in anchors


def test_promtool_renders_the_runbook_url_from_the_external_label(tmp_path: Path) -> None:
    """promtool's unit tests have no external labels (before Prometheus 2.51 they cannot set
    them): the rendered URL there is the anchor alone, which is what the tests expect."""
    for path in sorted((PROMETHEUS_DIR / "tests").glob("*.yml")):
        for url in re.findall(r"runbook_url: (\S+)", path.read_text()):
            assert re.fullmatch(r"'#[a-z]+'", url), f"{path.name}: {url}"


# --- the lag exporter ---------------------------------------------------------------------------


def _exporter_alert() -> dict[str, Any]:
    (rule,) = [r for r in _alerts() if r["alert"] == "ScreeningConsumerLagNoWorker"]
    return rule


def test_the_lag_alert_watches_the_workers_group_on_the_declarations() -> None:
    expr = _exporter_alert()["expr"]
    assert f'consumergroup="{VARIABLES["app_id"].info.default}"' in expr
    assert f'topic="{topics.DECLARATIONS}"' in expr
    assert 'up{job="screening-worker"} == 1' in expr


def test_compose_runs_the_exporter_against_the_broker(services: dict[str, Any]) -> None:
    exporter = services["kafka-exporter"]
    assert exporter["image"].startswith("danielqsj/kafka-exporter:v")
    flags = dict(arg.removeprefix("--").partition("=")[::2] for arg in exporter["command"])
    workers = settings_from(services["worker"]["environment"])
    assert flags["kafka.server"] == workers.kafka.servers
    assert "offset.show-all" in flags
    assert re.match(flags["group.filter"], workers.topics.app_id)
    assert exporter["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert [str(port) for port in exporter["expose"]] == [str(EXPORTER_PORT)]
    jobs = {job["job_name"]: job for job in _yaml(COMPOSE_PROMETHEUS)["scrape_configs"]}
    targets = jobs["kafka-exporter"]["static_configs"][0]["targets"]
    assert targets == [f"kafka-exporter:{EXPORTER_PORT}"]


def _exporter_documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(EXPORTER_MANIFEST.read_text()) if d]


def _exporter_container() -> dict[str, Any]:
    (deployment,) = [d for d in _exporter_documents() if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = container
    return found


def _k8s_settings() -> Settings:
    configmap = _yaml(K8S_DIR / "settings-configmap.yaml")
    return settings_from(configmap["data"])


def test_k8s_exporter_reads_the_clusters_kafka_as_customs_it() -> None:
    container = _exporter_container()
    settings = _k8s_settings()
    assert container["image"] == _yaml(COMPOSE_FILE)["services"]["kafka-exporter"]["image"]
    flags = dict(arg.removeprefix("--").partition("=")[::2] for arg in container["args"])
    env = {variable["name"]: variable["valueFrom"] for variable in container["env"]}
    assert flags["kafka.server"] == "$(KAFKA_BOOTSTRAP)"
    assert env["KAFKA_BOOTSTRAP"]["configMapKeyRef"] == {
        "name": "screening-settings",
        "key": "SCREENING_KAFKA_BOOTSTRAP",
    }
    # The cluster's SASL and TLS, as settings-configmap.yaml has them for the workers.
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert "sasl.enabled" in flags
    assert "tls.enabled" in flags
    # SCRAM-SHA-512 is kafka_exporter's scram-sha512.
    mechanism = (settings.kafka.sasl_mechanism or "").lower()
    assert flags["sasl.mechanism"] == re.sub(r"-(\d+)$", r"\1", mechanism)
    # customs IT's user may describe the groups and topics (SECURITY.md).
    for variable, key in (("KAFKA_USERNAME", "username"), ("KAFKA_PASSWORD", "password")):
        assert env[variable]["secretKeyRef"] == {"name": "screening-kafka-customs-it", "key": key}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert flags["tls.ca-file"] == f"{mounts['kafka-ca']}/ca.crt"
    assert "customs-it" in (ROOT / "SECURITY.md").read_text()
    assert re.match(flags["group.filter"], settings.topics.app_id)
    assert "offset.show-all" in flags


def test_k8s_exporter_runs_unprivileged_with_limits() -> None:
    container = _exporter_container()
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"]["memory"]
    assert container["resources"]["requests"]["cpu"]


def test_k8s_exporter_is_scraped_on_its_port() -> None:
    (deployment,) = [d for d in _exporter_documents() if d["kind"] == "Deployment"]
    (service,) = [d for d in _exporter_documents() if d["kind"] == "Service"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    ports = {p["name"]: p["containerPort"] for p in _exporter_container()["ports"]}
    assert ports["metrics"] == EXPORTER_PORT
    assert annotations["prometheus.io/port"] == str(EXPORTER_PORT)
    assert f"--web.listen-address=:{EXPORTER_PORT}" in _exporter_container()["args"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    assert service["spec"]["selector"].items() <= labels.items()
    scrape = {job["job_name"]: job for job in _yaml(K8S_SCRAPE)["scrape_configs"]}
    (keep, *_) = scrape["kafka-exporter"]["relabel_configs"]
    assert keep["action"] == "keep"
    assert keep["regex"] == ";".join(
        labels[f"app.kubernetes.io/{name}"] for name in ("name", "component")
    )


def test_the_base_kustomization_has_no_operator_objects() -> None:
    """`kubectl apply -k deploy/k8s` must work on a cluster without the operator's CRDs."""
    resources = _yaml(K8S_DIR / "kustomization.yaml")["resources"]
    assert "kafka-exporter.yaml" in resources
    for name in resources:
        for document in yaml.safe_load_all((K8S_DIR / name).read_text()):
            if document:
                assert not document["apiVersion"].startswith("monitoring.coreos.com/"), name


def test_k8s_exporter_manifest_is_valid_kubernetes() -> None:
    validate = require_tool("kubernetes-validate")
    done = subprocess.run(
        [str(validate), "--strict", "--quiet", "-k", "1.31.0", str(EXPORTER_MANIFEST)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- Alertmanager and the Kafka UI (compose) ----------------------------------------------------


def test_alertmanager_config_is_valid() -> None:
    amtool = require("amtool", package="prometheus-alertmanager")
    done = subprocess.run(
        [amtool, "check-config", str(ALERTMANAGER_CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("severity", ["critical", "warning"])
def test_alertmanager_routes_each_severity_to_its_receiver(severity: str) -> None:
    amtool = require("amtool", package="prometheus-alertmanager")
    done = subprocess.run(
        [
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER_CONFIG}",
            "alertname=ScreeningWorkersAbsent",
            f"severity={severity}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == [severity]


def test_alertmanager_groups_and_inhibits_on_the_alerts_labels() -> None:
    config = _yaml(ALERTMANAGER_CONFIG)
    assert config["route"]["group_by"] == ["alertname", "severity"]
    names = {rule["alert"] for rule in _alerts()}
    for inhibit in config["inhibit_rules"]:
        for matcher in inhibit["source_matchers"] + inhibit["target_matchers"]:
            match = re.fullmatch(r'alertname="(\w+)"', matcher)
            assert match is not None, matcher
            assert match.group(1) in names, matcher


def test_compose_prometheus_sends_to_the_compose_alertmanager(services: dict[str, Any]) -> None:
    alertmanager = services["alertmanager"]
    assert alertmanager["image"].startswith("prom/alertmanager:v")
    assert (
        "./deploy/alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro"
        in alertmanager["volumes"]
    )
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in alertmanager["command"]
    (target,) = _yaml(COMPOSE_PROMETHEUS)["alerting"]["alertmanagers"][0]["static_configs"]
    assert target["targets"] == ["alertmanager:9093"]
    assert alertmanager["ports"] == ["127.0.0.1:9093:9093"]
    assert "alertmanager" in services["prometheus"]["depends_on"]


def test_kafka_ui_is_a_tool_on_the_broker(services: dict[str, Any]) -> None:
    ui = services["kafka-ui"]
    assert ui["image"].startswith("ghcr.io/kafbat/kafka-ui:v")
    assert ui["profiles"] == ["tools"]
    workers = settings_from(services["worker"]["environment"])
    assert ui["environment"]["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == workers.kafka.servers
    assert all(port.startswith("127.0.0.1:") for port in ui["ports"]), "no sign-in: loopback"


# --- the Prometheus Operator's manifests --------------------------------------------------------


def _render_rules() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_rules", OPERATOR_DIR / "render_rules.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prometheus_rule_holds_exactly_the_rule_files_groups() -> None:
    rule = _yaml(OPERATOR_DIR / "prometheusrule.yaml")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    expected = [
        group
        for name in ("recording.yml", "alerts.yml")
        for group in _yaml(PROMETHEUS_DIR / name)["groups"]
    ]
    assert rule["spec"]["groups"] == expected


def test_committed_prometheus_rule_is_current() -> None:
    committed = (OPERATOR_DIR / "prometheusrule.yaml").read_text(encoding="utf-8")
    assert committed == _render_rules().render(), (
        "deploy/k8s/prometheus-operator/prometheusrule.yaml is out of date: run "
        "python deploy/k8s/prometheus-operator/render_rules.py"
    )


def test_prometheus_rule_passes_promtool(tmp_path: Path) -> None:
    rule = _yaml(OPERATOR_DIR / "prometheusrule.yaml")
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    done = subprocess.run(
        [require("promtool"), "check", "rules", str(tmp_path / "rules.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _pod_monitors() -> dict[str, dict[str, Any]]:
    documents = yaml.safe_load_all((OPERATOR_DIR / "podmonitors.yaml").read_text())
    return {d["metadata"]["name"]: d for d in documents if d}


@pytest.mark.parametrize(
    ("monitor", "manifest", "job"),
    [
        ("screening-worker", "worker-deployment.yaml", "screening-worker"),
        ("screening-workbench", "workbench-deployment.yaml", "screening-workbench"),
        ("screening-kafka-exporter", "kafka-exporter.yaml", "kafka-exporter"),
        ("screening-archive", "archive-deployment.yaml", "screening-archive"),
    ],
)
def test_pod_monitors_select_the_pods_port_and_job(monitor: str, manifest: str, job: str) -> None:
    pod_monitor = _pod_monitors()[monitor]
    assert pod_monitor["apiVersion"] == "monitoring.coreos.com/v1"
    (deployment,) = [
        d for d in yaml.safe_load_all((K8S_DIR / manifest).read_text()) if d["kind"] == "Deployment"
    ]
    template = deployment["spec"]["template"]
    selector = pod_monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= template["metadata"]["labels"].items()
    (endpoint,) = pod_monitor["spec"]["podMetricsEndpoints"]
    (container,) = template["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    annotations = template["metadata"]["annotations"]
    assert str(ports[endpoint["port"]]) == annotations["prometheus.io/port"]
    assert endpoint["path"] == annotations["prometheus.io/path"]
    (relabel,) = endpoint["relabelings"]
    assert relabel == {"targetLabel": "job", "replacement": job}
    scrape_jobs = [j["job_name"] for j in _yaml(K8S_SCRAPE)["scrape_configs"]]
    assert job in scrape_jobs
    assert len(_pod_monitors()) == len(scrape_jobs), "one PodMonitor per scrape job"


def test_operator_kustomization_lists_its_manifests() -> None:
    kustomization = _yaml(OPERATOR_DIR / "kustomization.yaml")
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in OPERATOR_DIR.glob("*.yaml") if p.name != "kustomization.yaml"
    )


def test_the_dashboards_link_the_runbook_where_the_alerts_do() -> None:
    base = _yaml(PROMETHEUS_DIR / "prometheus.yml")["global"]["external_labels"]["runbook_base"]
    assert base == dashboards.DEFAULT_RUNBOOK
