"""Examination requests between administrations, against the real broker, the session's
worker and a real PostgreSQL: an officer's request leaves on customs.c2c.outbound.v1, a
partner's request (as MirrorMaker 2 delivers it on cn.customs.c2c.outbound.v1) opens a case
whose result goes back, and what the agreement does not accept opens nothing."""

from __future__ import annotations

import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import NewTopic

from pipeline import topics
from pipeline.kafka.admin import admin_client
from pipeline.records import InputRecord
from pipeline.settings import Settings
from pipeline.workbench.migrations import migrate
from tests.factories import encode, filing
from tests.integration.conftest import collect, publish
from tests.integration.workbench import ROOT, WorkbenchProcess, spawn_workbench
from tests.integration.workbench_client import Officer

ARMS = "930690"  # an HRCM referral (MEDIUM, SECURITY by its tag hs-of-concern)
PARTNER_TOPIC = topics.partner_inbound_topic("cn")
# The test's own agreement with CN: requests at MEDIUM too, so that an HRCM referral may be
# sent; risk findings are not accepted from CN.
AGREEMENT = """\
partner: CN
alias: cn
administration: General Administration of Customs of the People's Republic of China
agreement: TEST
valid_from: 2024-01-01
review_by: 2099-01-01
owner: c2c-desk
send:
  EXAMINATION_REQUEST:
    levels: [HIGH, MEDIUM]
    categories: [SECURITY]
    fields: [container_ids, transport_document_number, summary]
  EXAMINATION_RESULT:
    fields: [container_ids, transport_document_number]
receive: [EXAMINATION_REQUEST, EXAMINATION_RESULT]
handling: C2C-RESTRICTED
aeo_registry: false
"""


@pytest.fixture
def agreements_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "agreements"
    folder.mkdir()
    (folder / "cn.yaml").write_text(AGREEMENT)
    return folder


@pytest.fixture
def partner_topic(settings: Settings) -> str:
    """The partner's topic exists before the workbench starts, as MirrorMaker 2 creates it."""
    admin = admin_client(settings.kafka)  # kept until the answer: its handle carries the future
    futures = admin.create_topics(
        [
            NewTopic(
                PARTNER_TOPIC,
                num_partitions=1,
                replication_factor=settings.topics.replication_factor,
            )
        ]
    )
    try:
        futures[PARTNER_TOPIC].result(30)
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
    return PARTNER_TOPIC


@pytest.fixture
def bench(
    settings: Settings,
    database_url: str,
    tmp_path: Path,
    workbenches: list[WorkbenchProcess],
    agreements_dir: Path,
    partner_topic: str,
) -> WorkbenchProcess:
    # Case numbers of this test's own: the case events on the session's shared
    # customs.case.events.v1 are keyed by case number, which every fresh database starts at 1.
    with psycopg.connect(database_url, autocommit=True) as conn:
        migrate(conn)
        first = 1_000_000 + secrets.randbelow(1_000_000_000)
        conn.execute(f"ALTER TABLE cases ALTER COLUMN case_id RESTART WITH {first}".encode())
    started = spawn_workbench(
        settings,
        database_url,
        tmp_path,
        extra_env={
            "SCREENING_AGREEMENTS_DIR": str(agreements_dir),
            "SCREENING_ADMINISTRATION": "NL",
        },
    )
    workbenches.append(started)
    return started


@pytest.fixture
def officer(bench: WorkbenchProcess) -> Iterator[Officer]:
    browser = Officer(bench.url)
    assert browser.login("officer").status_code == 303
    yield browser
    browser.close()


def _arms_case(producer: Producer, bench: WorkbenchProcess, declaration_id: str) -> int:
    publish(producer, [encode(filing(declaration_id, hs_code=ARMS))])
    rows = bench.wait_for(
        "SELECT case_id FROM cases WHERE declaration_id = %s AND status <> 'CLOSED'",
        (declaration_id,),
    )
    return int(rows[0][0])


def _outbound(settings: Settings, kind: str, **expected: str) -> dict[str, Any]:
    def belongs(record: InputRecord) -> bool:
        if record.value is None:
            return False
        value = orjson.loads(record.value)
        return value.get("kind") == kind and all(value.get(k) == v for k, v in expected.items())

    found = collect(settings, topics.C2C_OUTBOUND, belongs, expected=1)
    assert len(found) == 1, found
    record = found[0]
    assert record.value is not None
    message: dict[str, Any] = orjson.loads(record.value)
    message["_key"] = record.key
    message["_raw"] = record.value
    return message


def _partner_message(kind: str, run_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "message_id": str(uuid.uuid4()),
        "kind": kind,
        "from_administration": "CN",
        "to_administration": "NL",
        "ucr": f"{run_id}-UCR",
        "declaration_ref": f"{run_id}-IMP",
        "transport_document_number": f"{run_id}-BL",
        # The run's own container: the session's worker takes partners' findings as facts
        # about a consignment, and the filings of other tests share the factory's container.
        "container_ids": [f"{run_id}-CONT"],
        "level": "HIGH",
        "categories": ["SECURITY"],
        "summary": "Please examine before loading.",
        "handling": "C2C-RESTRICTED",
        "sent_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        **fields,
    }


def _produce_partner(producer: Producer, *values: bytes) -> None:
    for value in values:
        producer.produce(PARTNER_TOPIC, value, b"key")
    assert producer.flush(30) == 0


def test_an_officer_requests_an_examination_from_a_partner(
    settings: Settings,
    worker: object,
    producer: Producer,
    run_id: str,
    bench: WorkbenchProcess,
    officer: Officer,
) -> None:
    declaration_id = f"{run_id}-REQ"
    case_id = _arms_case(producer, bench, declaration_id)
    page = officer.case_page(case_id).text
    assert 'data-testid="partner-request-form"' in page
    assert '<option value="CN">CN</option>' in page

    refused = officer.post(
        f"/cases/{case_id}/partner-request", revision=officer.revision(case_id), partner="US"
    )
    assert refused.status_code == 400
    assert "no sharing agreement with US" in refused.text

    sent = officer.post(
        f"/cases/{case_id}/partner-request",
        revision=officer.revision(case_id),
        partner="CN",
        reason="an informant named this container",
    )
    assert sent.status_code == 303, sent.text

    message = _outbound(
        settings, "EXAMINATION_REQUEST", declaration_ref=declaration_id, to_administration="CN"
    )
    assert message["from_administration"] == "NL"
    assert (message["level"], message["categories"]) == ("MEDIUM", ["SECURITY"])
    assert message["_key"] == declaration_id.encode()
    raw = message["_raw"]
    # Rule ids, scores and officers' notes never leave.
    for never in (b"rule_id", b"score", b"HS-ARMS", b"informant", b"officer", b"NINGBO"):
        assert never not in raw, never
    events = bench.query(
        "SELECT actor, after->>'partner', note FROM case_events"
        " WHERE case_id = %s AND kind = 'PARTNER_REQUEST_SENT'",
        (case_id,),
    )
    assert events == [("officer", "CN", "an informant named this container")]

    again = officer.post(
        f"/cases/{case_id}/partner-request", revision=officer.revision(case_id), partner="CN"
    )
    assert again.status_code == 409
    assert "already sent to CN" in again.text


def test_the_cli_sends_a_request_through_the_same_path(
    settings: Settings,
    worker: object,
    producer: Producer,
    run_id: str,
    bench: WorkbenchProcess,
) -> None:
    declaration_id = f"{run_id}-CLI"
    case_id = _arms_case(producer, bench, declaration_id)

    def screening(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipeline", "c2c", "request", *args],
            cwd=ROOT,
            env=bench.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = screening(declaration_id, "--partner", "US")
    assert refused.returncode == 1, refused
    assert "no sharing agreement with US" in refused.stderr

    done = screening(declaration_id, "--partner", "CN", "--reason", "from the command line")
    assert done.returncode == 0, done
    message = _outbound(settings, "EXAMINATION_REQUEST", declaration_ref=declaration_id)
    assert message["to_administration"] == "CN"
    assert bench.query(
        "SELECT actor LIKE 'cli:%%' FROM case_events"
        " WHERE case_id = %s AND kind = 'PARTNER_REQUEST_SENT'",
        (case_id,),
    ) == [(True,)]


def test_a_partners_request_opens_a_case_and_the_result_goes_back(
    settings: Settings,
    producer: Producer,
    run_id: str,
    bench: WorkbenchProcess,
    officer: Officer,
) -> None:
    request = _partner_message("EXAMINATION_REQUEST", run_id)
    _produce_partner(producer, orjson.dumps(request))
    rows = bench.wait_for(
        "SELECT case_id, origin, partner, ucr FROM cases WHERE declaration_id = %s",
        (f"CN:{run_id}-IMP",),
    )
    case_id, origin, partner, ucr = rows[0]
    assert (origin, partner, ucr) == ("PARTNER_REQUEST", "CN", f"{run_id}-UCR")
    assert "requested by CN" in officer.client.get("/", params={"q": f"{run_id}-UCR"}).text
    assert 'data-testid="partner-request"' in officer.case_page(case_id).text
    # Read exactly once: the position is kept with the case.
    assert (
        bench.query(
            "SELECT count(*) FROM kafka_offsets WHERE consumer = %s AND topic = %s",
            (bench.group, PARTNER_TOPIC),
        )[0][0]
        >= 1
    )

    recorded = officer.post(
        f"/cases/{case_id}/examination",
        result="NO_FINDING",
        examined_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
    )
    assert recorded.status_code == 303, bench.log()[-3000:]
    answer = _outbound(settings, "EXAMINATION_RESULT", in_reply_to=request["message_id"])
    assert (answer["to_administration"], answer["from_administration"]) == ("CN", "NL")
    assert answer["result"] == "NO_FINDING"
    assert answer["ucr"] == f"{run_id}-UCR"
    assert b"officer" not in answer["_raw"]


def test_a_kind_the_agreement_does_not_accept_opens_nothing(
    settings: Settings,
    producer: Producer,
    run_id: str,
    bench: WorkbenchProcess,
) -> None:
    finding = _partner_message("RISK_FINDING", run_id, declaration_ref=f"{run_id}-RF")
    marker = _partner_message("EXAMINATION_REQUEST", run_id, declaration_ref=f"{run_id}-MARK")
    _produce_partner(producer, orjson.dumps(finding), b"{not json", orjson.dumps(marker))
    # The marker was sent last on the same partition: once its case is open, the others were
    # read before it.
    bench.wait_for("SELECT 1 FROM cases WHERE declaration_id = %s", (f"CN:{run_id}-MARK",))
    assert bench.query(
        "SELECT count(*) FROM partner_messages WHERE message_id = %s", (finding["message_id"],)
    ) == [(0,)]
    assert bench.query(
        "SELECT count(*) FROM cases WHERE declaration_id LIKE %s", (f"CN:{run_id}-%",)
    ) == [(1,)]
    metrics = httpx.get(f"{bench.url}/metrics", timeout=10).text
    assert 'screening_workbench_partner_messages_refused_total{reason="kind_not_accepted"}' in (
        metrics
    )
    assert 'screening_workbench_partner_messages_refused_total{reason="invalid"}' in metrics
    assert finding["message_id"] not in bench.log()
