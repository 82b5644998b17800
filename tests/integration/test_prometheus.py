"""A real Prometheus, configured from deploy/prometheus, scraping a real worker while
declarations flow through the real broker: every query of the dashboards, the recording rules
and the alerts returns data."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from pipeline.c2c.link import heartbeats_topic
from pipeline.kafka.producer import producer_config
from pipeline.ops.promql import (
    dashboard_expressions,
    data_queries,
    expand_grafana_macros,
    rule_expressions,
)
from pipeline.rules.cases import merge
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.settings import Settings
from tests.binaries import require
from tests.factories import amendment, encode, filing, invalidation
from tests.integration.conftest import ROOT, WorkerProcess, publish, spawn_worker
from tests.integration.workbench import WorkbenchProcess

pytestmark = pytest.mark.integration

PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARD_DIR = ROOT / "deploy" / "grafana" / "dashboards"
RULE_FILES = ("recording.yml", "alerts.yml")
JOB = "screening-worker"
WORKBENCH_JOB = "screening-workbench"
ARCHIVE_JOB = "screening-archive"
DATA_TIMEOUT_S = 120.0
# Series that exist only after an event this test does not cause, with the test that shows each
# is exported under this name: a refused rule set (test_rules_governance.py, the refusal on
# /metrics) and a rule set published with the backtest's estimates (tests/unit/worker/
# test_state_metrics.py). Their alerts' promtool tests fire on them.
EVENT_ONLY = (
    "screening_ruleset_refused_info",
    "job_rule:screening_rule_expected_match:ratio",
    "screening_rule_expected_match_ratio",
)
# Series of exporters outside the project, which this test does not run: the consumer lag as
# Kafka holds it (kafka-exporter) and the state volume's free space (node_exporter or the
# kubelet). Their alerts' promtool tests (lag_exporter.yml, resources.yml) fire on them.
# Nor does it run the archiver: its series are shown on its /metrics by
# tests/integration/test_archive.py and its alerts fire in the promtool tests (archive.yml).
EXTERNAL = (
    "kafka_consumergroup_lag",
    'job="kafka-exporter"',
    "node_filesystem_avail_bytes",
    "kubelet_volume_stats_available_bytes",
    "screening_archive_",
    'job="screening-archive"',
)
# The partner whose replicated heartbeat this test writes, as MirrorMaker 2 would: the
# repository's agreements/cn.yaml names it, and the worker reads the agreements folder.
PARTNER_ALIAS = "cn"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def derived_config(worker_port: int, workbench_port: int) -> dict[str, Any]:
    """The project's prometheus.yml, scraping the test worker and workbench every second,
    rules loaded."""
    config: dict[str, Any] = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    assert config["rule_files"] == list(RULE_FILES)
    config["rule_files"] = [str(PROMETHEUS_DIR / name) for name in RULE_FILES]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {JOB, WORKBENCH_JOB, ARCHIVE_JOB}
    # No archiver here (EXTERNAL).
    config["scrape_configs"] = [jobs[JOB], jobs[WORKBENCH_JOB]]
    for name, port in ((JOB, worker_port), (WORKBENCH_JOB, workbench_port)):
        jobs[name]["static_configs"] = [
            {"targets": [f"127.0.0.1:{port}"], "labels": {"env": "test"}}
        ]
    return config


def queries_to_prove() -> list[tuple[str, str]]:
    """(where it is used, query) for every dashboard query, recording rule and alert."""
    found = []
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        for title, expr in dashboard_expressions(json.loads(path.read_text())):
            found.append((f"{path.name}: {title}", expand_grafana_macros(expr)))
    for name in RULE_FILES:
        rules = yaml.safe_load((PROMETHEUS_DIR / name).read_text())
        for rule_name, expr in rule_expressions(rules):
            found.extend((f"{name}: {rule_name}", query) for query in data_queries(expr))
    return found


def _api(base: str, path: str, **params: str) -> Any:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}" if params else f"{base}{path}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def reference_records(settings: Settings, run_id: str, tmp_path: Path) -> Iterator[None]:
    """One AEO record and one watch-list entry of this test's own, so that both datasets
    have a newest record; deleted again afterwards."""
    suffix = run_id.replace("-", "")[-8:].upper()
    aeo_id, entry_id = f"XI{suffix}", f"PROBE-{suffix}"
    aeo = tmp_path / "aeo.csv"
    aeo.write_text(
        "operator_id,scheme,name,country,aeo_type,status,valid_from,valid_to,mra_partner\n"
        f"{aeo_id},EORI,Probe Metrics Qzx Ltd,GB,AEOC,ACTIVE,2020-01-01,,\n"
    )
    watchlist = tmp_path / "watchlist.csv"
    watchlist.write_text(
        "entry_id,name,aliases,country,ids,list,action,reason\n"
        f"{entry_id},Qzxv Probe Wvxq {suffix},,GB,,NATIONAL,RFI,Test entry\n"
    )
    _screening(settings, "aeo", "load", str(aeo))
    _screening(settings, "watchlist", "load", str(watchlist))
    yield
    _screening(settings, "aeo", "delete", aeo_id)
    _screening(settings, "watchlist", "delete", entry_id)


def _screening(settings: Settings, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args, "--bootstrap", settings.kafka.servers],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()


@pytest.fixture
def metrics_worker(
    settings: Settings, reference_records: None, tmp_path: Path
) -> Iterator[WorkerProcess]:
    worker = spawn_worker(settings, tmp_path)
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def partner_heartbeat(settings: Settings) -> Iterator[None]:
    """A heartbeat on `<alias>.heartbeats`, where MirrorMaker 2 replicates a partner's, so that
    the workers' link lag has a value; the topic is deleted afterwards."""
    topic = heartbeats_topic(PARTNER_ALIAS)
    admin = AdminClient(settings.kafka.librdkafka_config())
    for future in admin.create_topics([NewTopic(topic, 1, 1)]).values():
        future.result(30)
    producer = Producer(producer_config(settings.kafka))
    producer.produce(topic, b"heartbeat", b"cn->test")
    assert producer.flush(30) == 0
    yield
    for future in admin.delete_topics([topic]).values():
        future.result(30)


@pytest.fixture
def prometheus(
    metrics_worker: WorkerProcess, workbench: WorkbenchProcess, tmp_path: Path
) -> Iterator[str]:
    """A real Prometheus scraping the worker and a workbench; yields its base URL."""
    binary = require("prometheus")
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(derived_config(metrics_worker.web_port, workbench.port)))
    port = _free_port()
    log_path = tmp_path / "prometheus.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"prometheus exited:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prometheus not ready:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _traffic(run_id: str) -> list[tuple[bytes | None, bytes | None]]:
    """Clean, risky, shadow-rule, amended, invalidated and malformed messages."""
    clean = [filing(f"{run_id}-C{i}") for i in range(20)]
    arms = [filing(f"{run_id}-A{i}", hs_code="930690") for i in range(5)]
    # PARTY-PRIVATE-COMMERCIAL is a shadow rule: a private person receiving goods in bulk.
    private = [
        merge(filing(f"{run_id}-P{i}"), {"consignee": {"name": "Mr. John Smith"}}) for i in range(3)
    ]
    withdrawn = filing(f"{run_id}-W", hs_code="930690")
    messages = [encode(d) for d in clean + arms + private + [withdrawn]]
    messages += [
        encode(amendment(withdrawn, 2, "940360")),  # closes the referral: a tombstone
        encode(invalidation(f"{run_id}-C0", 2)),
        (f"{run_id}-BAD1".encode(), b"{not json"),
        (f"{run_id}-BAD2".encode(), orjson.dumps([1, 2, 3])),
    ]
    generator = DeclarationGenerator(GeneratorConfig(seed=5, risky_share=0.3, malformed_share=0.05))
    messages += [(m.key, m.value) for m in generator.messages(200)]
    return messages


def _empty_queries(base: str, queries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    empty = []
    for where, query in queries:
        answer = _api(base, "/api/v1/query", query=query)
        assert answer["status"] == "success", f"{where}: {query}: {answer}"
        if not answer["data"]["result"]:
            empty.append((where, query))
    return empty


def test_every_dashboard_and_alert_query_has_data(
    prometheus: str,
    metrics_worker: WorkerProcess,
    producer: Producer,
    run_id: str,
    partner_heartbeat: None,
) -> None:
    unproven = (*EVENT_ONLY, *EXTERNAL)
    queries = [(w, q) for w, q in queries_to_prove() if not any(e in q for e in unproven)]
    assert len(queries) > 50
    publish(producer, _traffic(run_id))

    deadline = time.monotonic() + DATA_TIMEOUT_S
    empty = queries
    while empty and time.monotonic() < deadline:
        time.sleep(2)
        empty = _empty_queries(prometheus, empty)
    assert not empty, "no data for:\n" + "\n".join(f"  {w}: {q}" for w, q in empty)
    # The same check finds a query without data: a metric nobody exports.
    control = [("control", 'screening_not_exported_total{job="screening-worker"}')]
    assert _empty_queries(prometheus, control) == control

    # The scrape is of the test worker, under the job the rules and dashboards select on.
    targets = _api(prometheus, "/api/v1/targets")["data"]["activeTargets"]
    (target,) = [t for t in targets if t["labels"]["job"] == JOB]
    assert target["scrapeUrl"] == f"http://127.0.0.1:{metrics_worker.web_port}/metrics"
    assert target["health"] == "up"
    # Every rule group loaded, and every alert is known to Prometheus.
    groups = _api(prometheus, "/api/v1/rules")["data"]["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    for name in RULE_FILES:
        rules = yaml.safe_load((PROMETHEUS_DIR / name).read_text())
        assert {rule_name for rule_name, _ in rule_expressions(rules)} <= loaded
