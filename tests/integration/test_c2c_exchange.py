"""Two administrations, each with its own cluster and worker, MirrorMaker 2 between them: a
finding made in one changes the other's assessment of the same consignment, what the agreement
forbids never reaches the partner, a partner's AEO registry replicated from its cluster is
recognised under the mutual recognition agreement, and a partner's examination request opens
a case in our workbench whose result goes back to it.

The first administration is the Netherlands (cluster alias ``eu``), the second China (``cn``);
their agreements are the demo's (deploy/c2c-demo/<alias>/), which let a DNL (HIGH) finding in
any category leave and keep a MEDIUM one home.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from pipeline import topics
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.producer import producer_config
from pipeline.records import InputRecord
from pipeline.samples.c2c_demo import LISTED_CONSIGNEE, filings, first_record, keyed
from pipeline.settings import Settings
from tests.integration.c2c import (
    PARTITIONS,
    Cluster,
    MirrorMaker,
    TwoClusters,
    mirrormaker_fixture,  # noqa: F401
    mirrormaker_process_fixture,  # noqa: F401
    two_clusters_fixture,  # noqa: F401
)
from tests.integration.conftest import ROOT, WorkerProcess, spawn_worker
from tests.integration.workbench import spawn_workbench
from tests.integration.workbench_client import Officer

pytestmark = [pytest.mark.integration, pytest.mark.c2c]

WATCHLIST = (
    "entry_id,name,aliases,country,ids,list,action,reason\n"
    f"C2C-DNL-1,{LISTED_CONSIGNEE},,GB,,OFAC,DNL,sanctions (test entry)\n"
)


@dataclass(frozen=True)
class Administration:
    cluster: Cluster
    country: str
    worker: WorkerProcess

    @property
    def settings(self) -> Settings:
        return self.cluster.settings


def _cli(cluster: Cluster, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args, "--bootstrap", cluster.bootstrap],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()


@pytest.fixture(scope="module")
def administrations(
    two_clusters: TwoClusters,
    mirrormaker_process: MirrorMaker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Administration, Administration]]:
    started: list[WorkerProcess] = []
    try:
        sides = []
        for cluster, country in ((two_clusters.eu, "NL"), (two_clusters.cn, "CN")):
            ensure_topics(cluster.settings, topics.TOPICS)
            workdir = tmp_path_factory.mktemp(f"admin-{cluster.alias}")
            if cluster.alias == "eu":
                listed = workdir / "watchlist.csv"
                listed.write_text(WATCHLIST)
                _cli(cluster, "watchlist", "load", str(listed))
            worker = spawn_worker(
                cluster.settings,
                workdir,
                extra_env={
                    "SCREENING_PARTITIONS": str(PARTITIONS),
                    "SCREENING_ADMINISTRATION": country,
                    "SCREENING_AGREEMENTS_DIR": str(ROOT / "deploy" / "c2c-demo" / cluster.alias),
                },
            )
            started.append(worker)
            sides.append(Administration(cluster, country, worker))
        yield sides[0], sides[1]
    finally:
        for worker in started:
            worker.stop()


def _send(settings: Settings, topic: str, key: str, document: dict[str, Any]) -> None:
    producer = Producer(producer_config(settings.kafka))
    producer.produce(topic, orjson.dumps(document), key.encode())
    assert producer.flush(30) == 0


def _assessment(side: Administration, declaration_id: str) -> dict[str, Any]:
    found = first_record(side.settings.kafka, topics.ASSESSMENTS, keyed(declaration_id))
    assert found is not None, f"{declaration_id} not assessed"
    assert found.value is not None
    return dict(orjson.loads(found.value))


def _ucr(tag: str) -> str:
    return f"6NL{datetime.now(UTC).strftime('%H%M%S%f')}{tag}"


def test_a_dnl_in_one_administration_is_at_least_hrcm_in_the_other(
    administrations: tuple[Administration, Administration], mirrormaker: MirrorMaker
) -> None:
    eu, cn = administrations
    ucr = _ucr("DNL")
    import_filing, export_filing = filings(ucr, datetime.now(UTC))

    _send(eu.settings, topics.DECLARATIONS, import_filing["declaration_id"], import_filing)
    assert _assessment(eu, import_filing["declaration_id"])["outcome"] == "DNL"

    inbound = topics.partner_inbound_topic("eu")
    arrived = first_record(cn.settings.kafka, inbound, keyed(ucr))
    assert arrived is not None, f"no finding for {ucr} on {inbound}\n{mirrormaker.log_tail()}"
    assert arrived.value is not None
    message = orjson.loads(arrived.value)
    assert (message["kind"], message["level"]) == ("RISK_FINDING", "HIGH")
    assert (message["from_administration"], message["to_administration"]) == ("NL", "CN")
    for secret in (b"WL-DNL", b"score", LISTED_CONSIGNEE.encode(), b"C2C-DNL-1"):
        assert secret not in arrived.value  # no rule, score, party or list entry leaves

    _send(cn.settings, topics.DECLARATIONS, export_filing["declaration_id"], export_filing)
    assessment = _assessment(cn, export_filing["declaration_id"])
    assert assessment["outcome"] in ("HRCM", "DNL")
    (partner,) = [m for m in assessment["matches"] if m["rule_id"] == "C2C-PARTNER-FINDING"]
    assert partner["evidence"]["partner_finding_partner"] == "NL"
    assert partner["evidence"]["partner_finding_matched_by"] == "UCR"
    # Its referral rests on the partner's finding only: nothing goes back to the sender.
    time.sleep(3)
    echo = first_record(
        eu.settings.kafka, topics.partner_inbound_topic("cn"), keyed(ucr), timeout_s=5
    )
    assert echo is None


def test_what_the_agreement_forbids_never_reaches_the_partner(
    administrations: tuple[Administration, Administration], mirrormaker: MirrorMaker
) -> None:
    eu, cn = administrations
    # Arms (HRCM): a MEDIUM finding, which the agreement with China does not let leave.
    kept_ucr = _ucr("MED")
    kept, _ = filings(kept_ucr, datetime.now(UTC))
    kept["consignee"] = {"name": "ROTTERDAM HOME TRADING BV", "address": {"country": "NL"}}
    kept["goods"][0]["hs_code"] = "930690"
    _send(eu.settings, topics.DECLARATIONS, kept["declaration_id"], kept)
    assert _assessment(eu, kept["declaration_id"])["outcome"] == "HRCM"
    # Then a DNL, which may leave: once it has crossed, the link has carried what came before.
    marker_ucr = _ucr("MRK")
    marker, _ = filings(marker_ucr, datetime.now(UTC))
    _send(eu.settings, topics.DECLARATIONS, marker["declaration_id"], marker)
    inbound = topics.partner_inbound_topic("eu")
    assert first_record(cn.settings.kafka, inbound, keyed(marker_ucr)) is not None
    time.sleep(2 * 2 + 1)
    assert first_record(cn.settings.kafka, inbound, keyed(kept_ucr), timeout_s=5) is None
    assert (
        first_record(eu.settings.kafka, topics.C2C_OUTBOUND, keyed(kept_ucr), timeout_s=5) is None
    )


def test_a_partner_aeo_replicated_from_its_cluster_is_recognised_under_the_mra(
    administrations: tuple[Administration, Administration],
    mirrormaker: MirrorMaker,
    tmp_path: Path,
) -> None:
    eu, cn = administrations
    operator = f"CN{datetime.now(UTC).strftime('%H%M%S%f')}"
    registry = tmp_path / "aeo.csv"
    registry.write_text(
        "operator_id,scheme,name,country,aeo_type,status,valid_from,valid_to,mra_partner\n"
        f"{operator},AEO,NINGBO HOMEWARE MANUFACTURING,CN,AEOS,ACTIVE,2024-01-01,,\n"
    )
    _cli(cn.cluster, "aeo", "load", str(registry))  # China's own registry, on its cluster
    assert first_record(eu.settings.kafka, "cn." + topics.AEO_REGISTRY, keyed(operator)) is not None

    deadline = time.monotonic() + 30
    attempt = 0
    while True:  # the worker's copy of the partner registry takes the record within moments
        _, filing = filings(_ucr(f"AEO{attempt}"), datetime.now(UTC))
        filing["declaration_id"] = f"NL-AEO-{operator}-{attempt}"
        filing["consignor"]["ids"] = [{"scheme": "AEO", "value": operator}]
        _send(eu.settings, topics.DECLARATIONS, filing["declaration_id"], filing)
        parties = _assessment(eu, filing["declaration_id"])["parties"]
        consignor = next(p for p in parties if p["role"] == "consignor")
        if consignor["source"] == "MRA:CN" or time.monotonic() > deadline:
            break
        attempt += 1
        time.sleep(1)
    assert consignor["source"] == "MRA:CN"
    assert consignor["status"] == "ACTIVE"


def test_a_partners_examination_request_opens_a_case_and_our_result_reaches_it(
    administrations: tuple[Administration, Administration],
    mirrormaker: MirrorMaker,
    database_url: str,
    tmp_path: Path,
) -> None:
    eu, cn = administrations
    bench = spawn_workbench(
        eu.settings,
        database_url,
        tmp_path,
        extra_env={
            "SCREENING_ADMINISTRATION": "NL",
            "SCREENING_AGREEMENTS_DIR": str(ROOT / "deploy" / "c2c-demo" / "eu"),
        },
    )
    officer = Officer(bench.url)
    try:
        assert officer.login("officer").status_code == 303
        # China's request, on its own cluster as its workbench writes it.
        ucr = _ucr("REQ")
        request = {
            "message_id": str(uuid.uuid4()),
            "kind": "EXAMINATION_REQUEST",
            "from_administration": "CN",
            "to_administration": "NL",
            "ucr": ucr,
            "declaration_ref": f"EXP-{ucr}",
            "container_ids": ["CSQU3054383"],
            "level": "HIGH",
            "categories": ["SECURITY"],
            "summary": "We request examination before loading of the consignment.",
            "handling": "C2C-RESTRICTED",
            "sent_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        _send(cn.settings, topics.C2C_OUTBOUND, ucr, request)

        rows = bench.wait_for(
            "SELECT case_id, origin, partner FROM cases WHERE declaration_id = %s",
            (f"CN:EXP-{ucr}",),
        )
        case_id, origin, partner = rows[0]
        assert (origin, partner) == ("PARTNER_REQUEST", "CN")

        recorded = officer.post(
            f"/cases/{case_id}/examination",
            result="SEIZURE",
            examined_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
        )
        assert recorded.status_code == 303, bench.log()[-3000:]

        def answers(record: InputRecord) -> bool:
            if record.value is None:
                return False
            return bool(orjson.loads(record.value).get("in_reply_to") == request["message_id"])

        inbound = topics.partner_inbound_topic("eu")
        answer = first_record(cn.settings.kafka, inbound, answers)
        assert answer is not None, f"no result on {inbound}\n{mirrormaker.log_tail()}"
        assert answer.value is not None
        result = orjson.loads(answer.value)
        assert (result["kind"], result["result"]) == ("EXAMINATION_RESULT", "SEIZURE")
        assert (result["from_administration"], result["to_administration"]) == ("NL", "CN")
        assert b"officer" not in answer.value
    finally:
        officer.close()
        bench.stop()


def test_our_examination_of_a_shared_dnl_reaches_the_partner(
    administrations: tuple[Administration, Administration],
    mirrormaker: MirrorMaker,
    database_url: str,
    tmp_path: Path,
) -> None:
    eu, cn = administrations
    bench = spawn_workbench(
        eu.settings,
        database_url,
        tmp_path,
        extra_env={
            "SCREENING_ADMINISTRATION": "NL",
            "SCREENING_AGREEMENTS_DIR": str(ROOT / "deploy" / "c2c-demo" / "eu"),
        },
    )
    supervisor = Officer(bench.url)
    try:
        assert supervisor.login("supervisor").status_code == 303
        ucr = _ucr("EXM")
        import_filing, _ = filings(ucr, datetime.now(UTC))
        _send(eu.settings, topics.DECLARATIONS, import_filing["declaration_id"], import_filing)
        rows = bench.wait_for(
            "SELECT case_id, outcome FROM cases WHERE declaration_id = %s",
            (import_filing["declaration_id"],),
        )
        case_id, outcome = rows[0]
        assert outcome == "DNL"

        recorded = supervisor.post(
            f"/cases/{case_id}/examination",
            result="SEIZURE",
            examined_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
        )
        assert recorded.status_code == 303, bench.log()[-3000:]

        def result_of(record: InputRecord) -> bool:
            if record.key != ucr.encode() or record.value is None:
                return False
            return bool(orjson.loads(record.value)["kind"] == "EXAMINATION_RESULT")

        inbound = topics.partner_inbound_topic("eu")
        answer = first_record(cn.settings.kafka, inbound, result_of)
        assert answer is not None, f"no result on {inbound}\n{mirrormaker.log_tail()}"
        assert answer.value is not None
        result = orjson.loads(answer.value)
        assert result["result"] == "SEIZURE"
        assert result["declaration_ref"] == import_filing["declaration_id"]
        assert "in_reply_to" not in result  # nobody asked: China had our risk finding
        assert b"supervisor" not in answer.value
    finally:
        supervisor.close()
        bench.stop()
