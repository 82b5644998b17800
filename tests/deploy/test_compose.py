"""docker-compose.yml and the Dockerfile: valid against the Compose specification, every file
they refer to exists, and their services, ports and variables agree with the settings model."""

from __future__ import annotations

import re
import shutil
import subprocess
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from pipeline.settings import Settings
from tests.binaries import require
from tests.deploy.settings_env import screening_variables, settings_from
from tests.deploy.tools_env import require_tool

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_PROMETHEUS = ROOT / "deploy" / "compose" / "prometheus.yml"
PROJECT_PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
SCREENING_SERVICES = ("topics", "reference-loader", "worker", "workbench")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def _dockerfile_lines() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def _dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in _dockerfile_lines():
        if line.startswith("ENV "):
            for pair in line[4:].split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def test_compose_file_follows_the_compose_specification() -> None:
    checker = require_tool("check-jsonschema")
    done = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_whole_stack_is_there(services: dict[str, Any]) -> None:
    assert set(services) >= {
        "kafka",
        *SCREENING_SERVICES,
        "postgres",
        "prometheus",
        "kafka-exporter",
        "alertmanager",
        "grafana",
    }


def test_images_are_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: image {image} has no tag"
        assert tag not in ("latest", ""), f"{name}: pin the image tag"


def test_kafka_is_the_official_image_in_kraft_mode_with_a_healthcheck(
    services: dict[str, Any],
) -> None:
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert kafka["healthcheck"]["test"]


def test_screening_services_build_from_the_project_dockerfile(services: dict[str, Any]) -> None:
    for name in SCREENING_SERVICES:
        build = services[name]["build"]
        context = (ROOT / build["context"]).resolve()
        assert context == ROOT, name
        assert (context / build["dockerfile"]).is_file(), name


def test_one_shot_services_run_before_the_workers(services: dict[str, Any]) -> None:
    assert services["topics"]["command"] == ["topics", "ensure"]
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    loader = services["reference-loader"]
    assert loader["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    worker = services["worker"]
    assert worker["depends_on"]["reference-loader"]["condition"] == (
        "service_completed_successfully"
    )
    for name in ("topics", "reference-loader"):
        assert services[name]["restart"] == "no"


def test_the_loader_reads_files_the_image_holds(services: dict[str, Any]) -> None:
    (script,) = services["reference-loader"]["command"]
    copied = " ".join(line for line in _dockerfile_lines() if line.startswith("COPY "))
    for word in script.split():
        if word.endswith(".csv") or word == "rules":
            assert (ROOT / word).exists(), word
            assert word in copied, f"{word} is not copied into the image"


def _bind_mounts(services: dict[str, Any]) -> list[tuple[str, str, str]]:
    mounts = []
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("."):
                mounts.append((name, source, target))
    return mounts


def test_every_mounted_file_exists(services: dict[str, Any]) -> None:
    mounts = _bind_mounts(services)
    assert mounts
    for name, source, _ in mounts:
        assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"


def test_named_volumes_are_declared(compose: dict[str, Any], services: dict[str, Any]) -> None:
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], source


def test_every_screening_variable_is_a_valid_setting(services: dict[str, Any]) -> None:
    for name in SCREENING_SERVICES:
        environment = services[name]["environment"]
        assert screening_variables(environment), name
        settings_from(environment)  # raises on an unknown variable or a bad value
    settings_from(_dockerfile_env())


def test_workers_reach_kafka_on_its_advertised_listener(services: dict[str, Any]) -> None:
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    addresses = {listener.split("//")[1] for listener in advertised.split(",")}
    for name in SCREENING_SERVICES:
        settings = settings_from(services[name]["environment"])
        for server in settings.kafka.bootstrap:
            assert server in addresses, f"{name}: {server} is not a listener of kafka"
            assert server.split(":")[0] in services


def _worker_settings(services: dict[str, Any]) -> Settings:
    return settings_from({**_dockerfile_env(), **services["worker"]["environment"]})


def test_worker_port_agrees_everywhere(services: dict[str, Any]) -> None:
    worker = services["worker"]
    settings = _worker_settings(services)
    assert settings.worker.web_host == "0.0.0.0"  # reachable from Prometheus, not only in-container
    port = settings.worker.web_port
    assert [str(p) for p in worker["expose"]] == [str(port)]
    assert f"EXPOSE {port}" in _dockerfile_lines()
    healthcheck = " ".join(worker["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/readyz" in healthcheck
    jobs = yaml.safe_load(COMPOSE_PROMETHEUS.read_text())["scrape_configs"]
    (job,) = [j for j in jobs if j["job_name"] == "screening-worker"]
    (discovery,) = job["dns_sd_configs"]
    assert discovery["names"] == ["worker"]
    assert discovery["port"] == port


def test_prometheus_scrapes_the_workbench_on_its_port(services: dict[str, Any]) -> None:
    settings = settings_from(services["workbench"]["environment"])
    jobs = yaml.safe_load(COMPOSE_PROMETHEUS.read_text())["scrape_configs"]
    (job,) = [j for j in jobs if j["job_name"] == "screening-workbench"]
    assert job["static_configs"][0]["targets"] == [f"workbench:{settings.workbench.port}"]


def test_workers_are_no_more_than_partitions(services: dict[str, Any]) -> None:
    worker = services["worker"]
    replicas = worker["deploy"]["replicas"]
    assert 2 <= replicas <= _worker_settings(services).topics.partitions
    for name in SCREENING_SERVICES:
        assert settings_from(services[name]["environment"]).topics.partitions == (
            _worker_settings(services).topics.partitions
        ), "the topics and the workers must agree on partitions"


def test_compose_scrape_config_keeps_the_project_job_and_rules() -> None:
    project = yaml.safe_load(PROJECT_PROMETHEUS.read_text())
    compose = yaml.safe_load(COMPOSE_PROMETHEUS.read_text())
    assert compose["rule_files"] == project["rule_files"]
    # Plus the lag exporter, which only compose runs (`make run` has none to scrape).
    assert [j["job_name"] for j in compose["scrape_configs"]] == [
        *(j["job_name"] for j in project["scrape_configs"]),
        "kafka-exporter",
    ]
    assert compose["global"] == project["global"]


def test_prometheus_mounts_the_config_and_every_rule_file(services: dict[str, Any]) -> None:
    targets = {target: source for _, source, target in _bind_mounts({"p": services["prometheus"]})}
    assert targets["/etc/prometheus/prometheus.yml"] == "./deploy/compose/prometheus.yml"
    for rule_file in yaml.safe_load(COMPOSE_PROMETHEUS.read_text())["rule_files"]:
        assert targets[f"/etc/prometheus/{rule_file}"] == f"./deploy/prometheus/{rule_file}"
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]


def test_compose_prometheus_config_is_valid(tmp_path: Path) -> None:
    promtool = require("promtool")
    shutil.copy(COMPOSE_PROMETHEUS, tmp_path / "prometheus.yml")
    for rule_file in ("recording.yml", "alerts.yml"):
        shutil.copy(PROJECT_PROMETHEUS.parent / rule_file, tmp_path / rule_file)
    done = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_grafana_reads_prometheus_and_the_dashboards(services: dict[str, Any]) -> None:
    grafana = services["grafana"]
    url = urlparse(grafana["environment"]["PROMETHEUS_URL"])
    assert url.hostname in services
    assert f"{url.port}:{url.port}" in services["prometheus"]["ports"]
    targets = {target: source for _, source, target in _bind_mounts({"g": grafana})}
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/screening.yml").read_text()
    )
    (dashboards,) = provider["providers"]
    assert targets[dashboards["options"]["path"]] == "./deploy/grafana/dashboards"
    assert targets["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"


def test_dockerfile_is_multi_stage_pinned_and_unprivileged() -> None:
    lines = _dockerfile_lines()
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert len(bases) >= 2
    for base in bases:
        assert ":" in base
        assert not base.endswith(":latest")
    users = [line for line in lines if line.startswith("USER ")]
    assert users
    assert users[-1].split()[1].split(":")[0] not in ("0", "root")


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_everything_the_dockerfile_copies_exists_and_is_not_ignored() -> None:
    ignored = _dockerignore()
    for line in _dockerfile_lines():
        if not line.startswith("COPY ") or "--from=" in line:
            continue
        *sources, _destination = line.split()[1:]
        for source in sources:
            path = source.rstrip("/")
            assert (ROOT / path).exists(), f"COPY {source}: no such file"
            assert not any(fnmatch(path, pattern) for pattern in ignored), (
                f"COPY {source} is excluded by .dockerignore"
            )


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = _dockerignore()
    for pattern in (".git", ".venv", ".data"):
        assert pattern in ignored


def test_kafka_image_is_the_version_the_project_tests_with(services: dict[str, Any]) -> None:
    pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    assert match is not None
    assert services["kafka"]["image"] == f"apache/kafka:{match.group(1)}"


def test_workbench_reaches_postgres_and_answers_on_its_port(services: dict[str, Any]) -> None:
    workbench = services["workbench"]
    settings = settings_from({**_dockerfile_env(), **workbench["environment"]})
    assert settings.workbench.host == "0.0.0.0"  # reachable through the published port
    port = settings.workbench.port
    assert workbench["ports"] == [f"127.0.0.1:{port}:{port}"], "loopback only: demo accounts"
    assert f"http://127.0.0.1:{port}/livez" in " ".join(workbench["healthcheck"]["test"])
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert postgres["healthcheck"]["test"]
    assert workbench["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert workbench["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    url = urlparse(settings.workbench.database_url.get_secret_value())
    environment = postgres["environment"]
    assert url.hostname == "postgres"
    assert url.port == 5432
    assert url.username == environment["POSTGRES_USER"]
    assert url.password == environment["POSTGRES_PASSWORD"]
    assert url.path == f"/{environment['POSTGRES_DB']}"


def test_demo_accounts_have_a_password_the_workbench_accepts(services: dict[str, Any]) -> None:
    workbench = services["workbench"]
    assert "--demo-accounts" in workbench["command"]
    variable = workbench["environment"]["SCREENING_DEMO_PASSWORD"]
    match = re.fullmatch(r"\$\{SCREENING_DEMO_PASSWORD:-([^}]+)\}", variable)
    assert match is not None, "the shell's SCREENING_DEMO_PASSWORD, with a default"
    assert len(match.group(1)) >= 12, "the workbench wants 12 characters at least"
