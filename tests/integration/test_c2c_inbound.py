"""What partner administrations send, through the real broker, as MirrorMaker 2 delivers it:
a risk finding on ``cn.customs.c2c.outbound.v1`` refers a later filing of the consignment, a
refused message changes nothing and is counted and dead-lettered, and a record of
``cn.customs.aeo.registry.v1`` is reported as the partner's AEO (``MRA:CN``)."""

from __future__ import annotations

import base64
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from pipeline import topics
from pipeline.settings import Settings
from tests.factories import encode, filing
from tests.integration.conftest import (
    ROOT,
    WorkerProcess,
    collect,
    key_prefix,
    publish,
    spawn_worker,
)

pytestmark = pytest.mark.integration

INBOUND = topics.partner_inbound_topic("cn")
REGISTRY = topics.partner_aeo_topic("cn")
RULE_ID = "C2C-PARTNER-FINDING"
# A worker that had the partner's topics missing looks for them again this often (and more).
MIRROR_RETRY_S = 15.0


def _create_partner_topics(settings: Settings) -> None:
    """As MirrorMaker 2 does when it first replicates them."""
    admin = AdminClient(settings.kafka.librdkafka_config())
    wanted = [
        NewTopic(INBOUND, 1, settings.topics.replication_factor),
        NewTopic(
            REGISTRY, 1, settings.topics.replication_factor, config={"cleanup.policy": "compact"}
        ),
    ]
    for future in admin.create_topics(wanted).values():
        try:
            future.result(30)
        except Exception as exc:  # the broker answers so for a topic made by an earlier run
            error = exc.args[0] if exc.args else None
            if not (
                isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS
            ):
                raise


def _message(run_id: str, **fields: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": f"{run_id}-M",
        "kind": "RISK_FINDING",
        "from_administration": "CN",
        "to_administration": "NL",
        "declaration_ref": f"CN-{run_id}",
        "handling": "C2C-RESTRICTED",
        "sent_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        # Only the UCR: the other tests' filings share the rule cases' container and document.
        "ucr": f"CN{run_id}-UCR",
        "level": "HIGH",
        "categories": ["SECURITY"],
    }
    message.update(fields)
    return message


def _agreements(folder: Path) -> Path:
    """The repository's agreement with CN, accepting findings only."""
    document = yaml.safe_load((ROOT / "agreements" / "cn.yaml").read_text(encoding="utf-8"))
    document["receive"] = ["RISK_FINDING"]
    folder.mkdir()
    (folder / "cn.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return folder


def _received(worker: WorkerProcess, kind: str, result: str) -> float:
    url = f"http://127.0.0.1:{worker.web_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        if family.name == "screening_partner_messages_received":
            for sample in family.samples:
                labels = sample.labels
                if sample.name.endswith("_total") and labels == {
                    "partner": "CN",
                    "kind": kind,
                    "result": result,
                }:
                    return float(sample.value)
    return 0.0


def _filing(declaration_id: str, ucr: str, **fields: Any) -> dict[str, Any]:
    document = filing(declaration_id)
    document["ucr"] = ucr
    document["submitted_at"] = datetime.now(UTC).isoformat()
    document.update(fields)
    return document


def _assessments(settings: Settings, producer: Producer, document: dict[str, Any]) -> list[Any]:
    publish(producer, [encode(document)])
    found = collect(settings, topics.ASSESSMENTS, key_prefix(document["declaration_id"]), 1)
    assert found
    # The session's worker, if running, screens it as well: every assessment must agree.
    return [orjson.loads(record.value or b"null") for record in found]


def test_partner_messages_are_applied_refused_and_counted(
    settings: Settings,
    producer: Producer,
    run_id: str,
    tmp_path: Path,
    workers: list[WorkerProcess],
) -> None:
    _create_partner_topics(settings)
    created = time.monotonic()
    operator_id = f"CN{run_id[3:]}AEO".upper()
    refused_ucr = f"CN{run_id}-REFUSED"
    partner = Producer(settings.kafka.librdkafka_config())
    for message in (
        _message(run_id),
        # Refused: not from the agreement's partner, and a kind the agreement does not accept.
        _message(run_id, message_id=f"{run_id}-X", from_administration="US", ucr=refused_ucr),
        _message(run_id, message_id=f"{run_id}-R", kind="EXAMINATION_REQUEST", ucr=refused_ucr),
    ):
        partner.produce(INBOUND, orjson.dumps(message), message["ucr"].encode())
    record = {
        "operator_id": operator_id,
        "scheme": "AEO",
        "name": "NINGBO HOMEWARE MANUFACTURING",
        "country": "CN",
        "aeo_type": "AEO-ADVANCED",
        "status": "ACTIVE",
        "valid_from": "2024-01-01",
        "valid_to": None,
        "mra_partner": None,  # the agreement says whose it is
    }
    partner.produce(REGISTRY, orjson.dumps(record), operator_id.encode())
    assert partner.flush(30) == 0

    env = {"SCREENING_AGREEMENTS_DIR": str(_agreements(tmp_path / "agreements"))}
    worker = spawn_worker(settings, tmp_path, offset_reset="latest", extra_env=env)
    workers.append(worker)
    # Ready means read to the end: the messages are counted already.
    assert _received(worker, "RISK_FINDING", "applied") >= 1
    assert _received(worker, "RISK_FINDING", "refused") >= 1
    assert _received(worker, "EXAMINATION_REQUEST", "refused") >= 1
    time.sleep(max(0.0, MIRROR_RETRY_S - (time.monotonic() - created)))

    # The finding came first; the filing of its consignment is referred when it arrives.
    for assessment in _assessments(
        settings, producer, _filing(f"{run_id}-F1", f"cn{run_id}ucr".lower())
    ):
        assert assessment["outcome"] in ("HRCM", "DNL")
        [match] = [m for m in assessment["matches"] if m["rule_id"] == RULE_ID]
        assert match["evidence"]["partner_finding_partner"] == "CN"
        assert match["evidence"]["partner_finding_matched_by"] == "UCR"
        assert "CN" in match["reason"]
        assert "HIGH" in match["reason"]

    # The refused messages changed nothing.
    for assessment in _assessments(settings, producer, _filing(f"{run_id}-F2", refused_ucr)):
        assert RULE_ID not in {m["rule_id"] for m in assessment["matches"]}

    # Each refusal is dead-lettered, keyed by where it was read: one record however many workers.
    letters = collect(settings, topics.C2C_INBOUND_DLQ, lambda r: _has(r.value, refused_ucr), 2)
    assert all(r.key and r.key.startswith(f"{INBOUND}/0/".encode()) for r in letters)
    assert {orjson.loads(r.value or b"{}")["error"]["code"] for r in letters} == {
        "WRONG_PARTNER",
        "KIND_NOT_ACCEPTED",
    }

    # The partner's AEO record speaks for a party that files its id.
    consignor = {"name": "NINGBO HOMEWARE", "ids": [{"scheme": "AEO", "value": operator_id}]}
    for assessment in _assessments(
        settings,
        producer,
        _filing(f"{run_id}-F3", f"{run_id}-OTHER", consignor=consignor),
    ):
        [party] = [p for p in assessment["parties"] if p["role"] == "consignor"]
        assert party["source"] == "MRA:CN"
        assert party["status"] == "ACTIVE"


def _has(value: bytes | None, ucr: str) -> bool:
    """Whether a dead letter's original message names the UCR (its bytes are in base64)."""
    if not value:
        return False
    original = base64.b64decode(orjson.loads(value)["original"])
    return ucr.encode() in original
