"""deploy/k8s: valid Kubernetes (and KEDA) objects that agree with each other, with the settings
model, with the worker's HTTP pages, and with the measured memory of a worker."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pipeline import topics
from pipeline.ops import rules_configmap
from pipeline.rules.loader import load_ruleset
from pipeline.settings import Settings
from tests.binaries import require
from tests.deploy.settings_env import field_name, settings_from
from tests.deploy.tools_env import require_tool

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"
MANIFESTS = sorted(p for p in K8S_DIR.glob("*.yaml") if p.name != "kustomization.yaml")
SCHEMA_DIR = Path(__file__).with_name("schemas")
CUSTOM_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject-v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda-triggerauthentication-v1alpha1.json",
}
# The newest Kubernetes kubernetes-validate knows, and an older one still widely run.
KUBERNETES_VERSIONS = ("1.37.0", "1.31.0")
APP_SOURCE = ROOT / "pipeline" / "worker" / "app.py"
WORKBENCH_SOURCE = ROOT / "pipeline" / "workbench" / "web.py"
BENCH = ROOT / "load_tests" / "results" / "bench.json"
MIB = 1024 * 1024


def _documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                yield path, document


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        d for _, d in _documents() if d["kind"] == kind and name in (None, d["metadata"]["name"])
    ]
    assert len(found) == 1, f"{kind} {name or ''}: {len(found)} found"
    return found[0]


@pytest.fixture(scope="module")
def deployment() -> dict[str, Any]:
    return _one("Deployment", "screening-worker")


@pytest.fixture(scope="module")
def worker(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = container
    return found


@pytest.fixture(scope="module")
def settings() -> Settings:
    return settings_from(_one("ConfigMap", "screening-settings")["data"])


@pytest.fixture(scope="module")
def scaled_object() -> dict[str, Any]:
    return _one("ScaledObject")


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_are_valid_kubernetes_objects(version: str) -> None:
    validate = require_tool("kubernetes-validate")
    done = subprocess.run(
        [str(validate), "--strict", "--quiet", "-k", version, *map(str, MANIFESTS)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Only the KEDA objects may lack a schema there: they are checked below.
    for line in done.stdout.splitlines():
        if "Couldn't find schema" in line:
            assert "keda.sh/" in line, line


def _strict(schema: Any) -> Any:
    """The CRD schema, but unknown fields rejected: the API server would drop them silently."""
    if isinstance(schema, dict):
        strict = {key: _strict(value) for key, value in schema.items()}
        if (
            "properties" in strict
            and "additionalProperties" not in strict
            and not strict.get("x-kubernetes-preserve-unknown-fields")
        ):
            strict["additionalProperties"] = False
        return strict
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


def test_keda_objects_follow_their_crd_schemas() -> None:
    checked = 0
    for path, document in _documents():
        name = CUSTOM_SCHEMAS.get((document["apiVersion"], document["kind"]))
        if name is None:
            continue
        schema = json.loads((SCHEMA_DIR / name).read_text())
        schema.pop("$comment")
        # metadata is the API server's to check; a CRD schema leaves it open.
        schema["properties"]["metadata"] = {"type": "object"}
        jsonschema.validate(document, _strict(schema))
        checked += 1
        assert path.name == "worker-scaledobject.yaml"
    assert checked == 2


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in MANIFESTS)


def test_every_object_carries_the_app_label() -> None:
    for path, document in _documents():
        labels = document["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "customs-screening", path.name


def test_selectors_match_the_pod_labels(deployment: dict[str, Any]) -> None:
    selector = deployment["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    assert _one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == selector
    spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    for constraint in spread:
        assert constraint["labelSelector"]["matchLabels"] == selector


def test_keda_scales_this_deployment_within_the_partitions(
    deployment: dict[str, Any], scaled_object: dict[str, Any], settings: Settings
) -> None:
    spec = scaled_object["spec"]
    assert spec["scaleTargetRef"]["kind"] == deployment["kind"]
    assert spec["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert 2 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= settings.topics.partitions
    assert "replicas" not in deployment["spec"], "KEDA owns the replica count"


def test_keda_reads_the_lag_of_the_workers_group(
    scaled_object: dict[str, Any], settings: Settings
) -> None:
    (trigger,) = scaled_object["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    metadata = trigger["metadata"]
    assert metadata["bootstrapServers"] == settings.kafka.servers
    assert metadata["consumerGroup"] == settings.topics.app_id
    assert metadata["topic"] == topics.DECLARATIONS
    assert metadata["offsetResetPolicy"] == settings.topics.offset_reset
    assert metadata["allowIdleConsumers"] == "false"
    assert int(metadata["lagThreshold"]) > 0
    mechanism = (settings.kafka.sasl_mechanism or "none").lower().replace("-", "_")
    assert metadata["sasl"] == mechanism.replace("scram_sha_", "scram_sha")
    assert metadata["tls"] == (
        "enable" if settings.kafka.security_protocol.endswith("SSL") else "disable"
    )
    authentication = _one("TriggerAuthentication")
    assert trigger["authenticationRef"]["name"] == authentication["metadata"]["name"]


def _pages() -> set[str]:
    return set(re.findall(r'@app\.page\("([^"]+)"\)', APP_SOURCE.read_text()))


def test_probes_ask_pages_the_worker_serves(worker: dict[str, Any], settings: Settings) -> None:
    ports = {port["name"]: port["containerPort"] for port in worker["ports"]}
    assert ports["http"] == settings.worker.web_port
    assert settings.worker.web_host == "0.0.0.0"
    paths = {}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        http = worker[probe]["httpGet"]
        assert http["port"] in ("http", settings.worker.web_port), probe
        paths[probe] = http["path"]
    assert set(paths.values()) <= _pages()
    assert paths["readinessProbe"] == "/readyz"
    assert paths["livenessProbe"] == paths["startupProbe"] == "/livez"


def test_startup_probe_waits_for_the_reference_data(
    worker: dict[str, Any], settings: Settings
) -> None:
    probe = worker["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] >= settings.worker.reference_wait_s


def test_liveness_gives_the_stall_check_time_to_answer(worker: dict[str, Any]) -> None:
    probe = worker["livenessProbe"]
    # A page answers at once unless the event loop is blocked; a few misses in a row are
    # a blocked loop, not one slow batch.
    assert probe["failureThreshold"] * probe["periodSeconds"] >= 60


def test_prometheus_annotations_name_the_metrics_page(
    deployment: dict[str, Any], settings: Settings
) -> None:
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == settings.worker.web_port
    assert annotations["prometheus.io/path"] in _pages()


def test_scrape_config_keeps_the_project_job_name() -> None:
    project = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    scrape = yaml.safe_load((K8S_DIR / "prometheus" / "scrape-config.yml").read_text())
    # Plus the lag exporter of kafka-exporter.yaml (test_monitoring_config.py).
    assert [j["job_name"] for j in scrape["scrape_configs"]] == [
        *(j["job_name"] for j in project["scrape_configs"]),
        "kafka-exporter",
    ]


def test_scrape_config_is_valid_prometheus_config(tmp_path: Path) -> None:
    promtool = require("promtool")
    project = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    scrape = yaml.safe_load((K8S_DIR / "prometheus" / "scrape-config.yml").read_text())
    jobs = scrape["scrape_configs"]
    for job in jobs:
        assert job.pop("kubernetes_sd_configs") == [{"role": "pod"}]
        # Debian's promtool is built without Kubernetes discovery: a static target stands in,
        # so that the rest of the job, relabelling included, is checked.
        job["static_configs"] = [{"targets": ["10.0.0.1:6066"]}]
    config = {**project, "scrape_configs": jobs}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    for rule_file in project["rule_files"]:
        shutil.copy(ROOT / "deploy" / "prometheus" / rule_file, tmp_path / rule_file)
    done = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("job_name", "manifest", "setting"),
    [
        ("screening-worker", "worker-deployment.yaml", "web_port"),
        ("screening-workbench", "workbench-deployment.yaml", "workbench_port"),
    ],
)
def test_scrape_config_addresses_the_annotated_port(
    settings: Settings, job_name: str, manifest: str, setting: str
) -> None:
    port = settings.value(setting)
    scrape = yaml.safe_load((K8S_DIR / "prometheus" / "scrape-config.yml").read_text())
    (job,) = [j for j in scrape["scrape_configs"] if j["job_name"] == job_name]
    (address,) = [r for r in job["relabel_configs"] if r.get("target_label") == "__address__"]
    joined = f"10.0.0.1:{port};{port}"
    match = re.fullmatch(address["regex"], joined)
    assert match is not None
    rewritten = match.expand(address["replacement"].replace("$", "\\"))
    assert rewritten == f"10.0.0.1:{port}"
    deployment = yaml.safe_load((K8S_DIR / manifest).read_text())
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)


# Not the project's image, settings or Kafka roles: checked in test_monitoring_config.py.
THIRD_PARTY = ("kafka-exporter.yaml",)


def _containers() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, document in _documents():
        if document["kind"] in ("Deployment", "Job") and path.name not in THIRD_PARTY:
            pod = document["spec"]["template"]["spec"]
            for container in pod.get("initContainers", []) + pod["containers"]:
                yield f"{path.name}:{container['name']}", container


def test_every_screening_variable_is_a_setting() -> None:
    for key in _one("ConfigMap", "screening-settings")["data"]:
        field_name(key)
    for where, container in _containers():
        for variable in container.get("env", []):
            if variable["name"].startswith("SCREENING_"):
                field_name(variable["name"])
            else:
                pytest.fail(f"{where}: {variable['name']} is not a setting")


# Each role's own Kafka user (SECURITY.md): the workers may not create topics or publish rules.
SECRETS = {
    "worker-deployment.yaml": "screening-kafka-pipeline",
    "topics-job.yaml": "screening-kafka-customs-it",
    "rules-publish-job.yaml": "screening-kafka-risk-analyst",
    "workbench-deployment.yaml": "screening-kafka-workbench",
    "archive-deployment.yaml": "screening-kafka-archive",
}


def test_credentials_come_from_each_roles_secret(settings: Settings) -> None:
    data = _one("ConfigMap", "screening-settings")["data"]
    assert "SCREENING_KAFKA_SASL_PASSWORD" not in data
    assert "SCREENING_KAFKA_SASL_USERNAME" not in data
    for where, container in _containers():
        if container["name"] == "unpack-rules":
            continue
        secret = SECRETS[where.split(":")[0]]
        env = {v["name"]: v for v in container["env"]}
        for name in ("SCREENING_KAFKA_SASL_USERNAME", "SCREENING_KAFKA_SASL_PASSWORD"):
            assert env[name]["valueFrom"]["secretKeyRef"]["name"] == secret, where
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert settings.kafka.ssl_cafile is not None
        assert mounts[str(settings.kafka.ssl_cafile.parent)] == "kafka-ca", where
    for path, document in _documents():
        if document["kind"] in ("Deployment", "Job") and path.name not in THIRD_PARTY:
            volumes = document["spec"]["template"]["spec"]["volumes"]
            (ca,) = [v for v in volumes if v["name"] == "kafka-ca"]
            assert ca["secret"]["secretName"] == SECRETS[path.name], path.name
    for reference in _one("TriggerAuthentication")["spec"]["secretTargetRef"]:
        assert reference["name"] == SECRETS["worker-deployment.yaml"]


def test_every_mounted_volume_is_declared() -> None:
    for path, document in _documents():
        if document["kind"] not in ("Deployment", "Job"):
            continue
        pod = document["spec"]["template"]["spec"]
        declared = {volume["name"] for volume in pod["volumes"]}
        for container in pod.get("initContainers", []) + pod["containers"]:
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in declared, f"{path.name}: {mount['name']}"
        for volume in pod["volumes"]:
            if "configMap" in volume:
                _one("ConfigMap", volume["configMap"]["name"])


def test_pods_run_unprivileged_with_limits() -> None:
    for where, container in _containers():
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False, where
        assert security["readOnlyRootFilesystem"] is True, where
        assert container["resources"]["limits"]["memory"], where
        assert container["resources"]["requests"]["cpu"], where


def _mebibytes(quantity: str) -> float:
    units = {"Mi": 1, "Gi": 1024}
    return float(quantity[:-2]) * units[quantity[-2:]]


def test_worker_memory_is_grounded_in_the_benchmark(worker: dict[str, Any]) -> None:
    bench = json.loads(BENCH.read_text())
    screening_variants = ("pipeline", "metrics_off", "pipeline_1000_rules")
    largest = max(bench["variants"][name]["rss_mb"] for name in screening_variants)
    resources = worker["resources"]
    assert _mebibytes(resources["requests"]["memory"]) >= bench["worker_rss_mb"] * 1.25
    assert _mebibytes(resources["limits"]["memory"]) >= largest * 2


def test_worker_settings_are_valid(settings: Settings) -> None:
    assert settings.scoring.rules_dir.is_absolute()
    assert settings.worker.data_dir in settings.scoring.rules_dir.parents
    assert settings.topics.replication_factor == 3


def _unpack_scripts() -> list[str]:
    scripts = []
    for _, container in _containers():
        if container["name"] == "unpack-rules":
            scripts.append(container["command"][-1])
    return scripts


def test_unpacked_configmap_is_the_rule_folder(tmp_path: Path) -> None:
    """The init container's loop, run on the ConfigMap's keys, rebuilds rules/ exactly."""
    scripts = _unpack_scripts()
    assert len(scripts) == 2
    assert len(set(scripts)) == 1, "the worker and the publish job unpack the same way"
    mounted = tmp_path / "configmap"
    mounted.mkdir()
    for key, text in rules_configmap.configmap()["data"].items():
        (mounted / key).write_text(text)
    (mounted / "..data").mkdir()  # what the kubelet adds beside the keys; hidden from the glob
    target = tmp_path / "rules"
    script = (
        scripts[0]
        .replace("/etc/screening/rules-configmap", str(mounted))
        .replace("/var/lib/screening/rules", str(target))
    )
    subprocess.run(["/bin/sh", "-c", script], check=True, timeout=60)
    unpacked = load_ruleset(target)
    original = load_ruleset(ROOT / "rules")
    assert [rule.id for rule in unpacked.rules] == [rule.id for rule in original.rules]
    assert unpacked.lists == original.lists


def test_committed_rules_configmap_is_current() -> None:
    committed = rules_configmap.MANIFEST.read_text(encoding="utf-8")
    assert committed == rules_configmap.render(), (
        "deploy/k8s/rules-configmap.yaml is out of date: run python -m pipeline.ops.rules_configmap"
    )


def test_rules_configmap_keys_are_valid_and_reversible() -> None:
    data = rules_configmap.configmap()["data"]
    assert sum(len(text.encode()) for text in data.values()) < 1024 * 1024, "ConfigMap limit"
    for key in data:
        assert re.fullmatch(r"[-._a-zA-Z0-9]+", key), key
        assert (ROOT / "rules" / rules_configmap.path_for(key)).is_file(), key


def test_pods_run_the_image_compose_builds() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    image = compose["services"]["worker"]["image"]
    for where, container in _containers():
        assert container["image"] == image, where


def test_workbench_serves_its_port_and_probes_its_pages(settings: Settings) -> None:
    deployment = _one("Deployment", "screening-workbench")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    values = {v["name"]: v["value"] for v in container["env"] if "value" in v}
    workbench = settings_from({**_one("ConfigMap", "screening-settings")["data"], **values})
    assert workbench.workbench.host == "0.0.0.0"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["http"] == workbench.workbench.port
    pages = set(re.findall(r'@app\.get\("([^"]+)"', WORKBENCH_SOURCE.read_text()))
    paths = {}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        http = container[probe]["httpGet"]
        assert http["port"] == "http", probe
        paths[probe] = http["path"]
    assert set(paths.values()) <= pages
    assert paths["readinessProbe"] == "/readyz"
    assert paths["livenessProbe"] == paths["startupProbe"] == "/livez"
    # Topics are customs IT's to create (SECURITY.md), as for the workers.
    assert container["args"] == ["workbench", "--no-ensure-topics"]


def test_workbench_reads_the_database_url_from_its_secret() -> None:
    deployment = _one("Deployment", "screening-workbench")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {v["name"]: v for v in container["env"]}
    reference = env["SCREENING_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert reference == {"name": "screening-database", "key": "url"}
    assert "SCREENING_DATABASE_URL" not in _one("ConfigMap", "screening-settings")["data"]


def test_workbench_service_selects_its_pods() -> None:
    deployment = _one("Deployment", "screening-workbench")
    service = _one("Service", "screening-workbench")
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert service["spec"]["selector"] == selector
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "http"


# --- MirrorMaker 2 for the exchange with partner administrations (deploy/k8s/c2c) -------------


def test_mirrormaker_manifest_carries_the_shipped_config_files() -> None:
    config, deployment = yaml.safe_load_all((K8S_DIR / "c2c" / "mirrormaker.yaml").read_text())
    assert config["kind"] == "ConfigMap"
    for name in ("mm2.properties", "start.sh"):
        shipped = (ROOT / "deploy" / "mirrormaker" / name).read_text()
        assert config["data"][name] == shipped, f"regenerate deploy/k8s/c2c from {name}"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    kafka = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["kafka"]
    assert container["image"] == kafka["image"]  # the Kafka version the project tests with
    env = {e["name"] for e in container["env"]}
    assert {"C2C_HOME_ALIAS", "C2C_PARTNER_ALIAS", "C2C_PARTNER_BOOTSTRAP"} <= env


def test_mirrormaker_config_pulls_only_the_exchanged_topics() -> None:
    props = (ROOT / "deploy" / "mirrormaker" / "mm2.properties").read_text()
    # Doubled backslashes: a properties file drops a lone one.
    topics = r"customs\\.c2c\\.outbound\\.v1, customs\\.aeo\\.registry\\.v1"
    assert f"topics = {topics}" in props
    assert "@PARTNER_ALIAS@->@HOME_ALIAS@.enabled = true" in props
    assert "@HOME_ALIAS@->@PARTNER_ALIAS@.enabled = false" in props
    assert "sync.topic.acls.enabled = false" in props
