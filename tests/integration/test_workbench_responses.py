"""The filers' responses in the workbench, on the real broker and PostgreSQL: an answered RFI
and a cleared HRCM close their cases, a screening that did not clear is escalated, forged or
misfit responses are dead-lettered with a REJECTED notice and change nothing, an officer's
decision reaches the filer, and an overdue referral is escalated."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import orjson
import psycopg
from confluent_kafka import Producer

from pipeline import topics
from pipeline.settings import Settings
from pipeline.workbench import metrics, worklist
from pipeline.workbench.deadlines import escalate_overdue
from tests.factories import encode, filing
from tests.integration.conftest import collect, publish
from tests.integration.workbench import WorkbenchProcess
from tests.integration.workbench_client import Officer

ARMS = "930690"  # HRCM under the default rules
CHAPTER_ONLY = "940000"  # an HS code naming only the chapter: RFI


def _file(producer: Producer, declaration_id: str, hs_code: str, filer: str) -> dict[str, Any]:
    document = filing(declaration_id, hs_code=hs_code)
    document["filer_id"] = filer
    publish(producer, [encode(document)])
    return document


def _respond(producer: Producer, payload: dict[str, Any] | bytes, key: str) -> None:
    value = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    producer.produce(topics.REFERRAL_RESPONSES, value, key.encode())
    assert producer.flush(30) == 0


def _response(document: dict[str, Any], filer: str, kind: str, **extra: object) -> dict[str, Any]:
    return {
        "declaration_id": document["declaration_id"],
        "version": document["version"],
        "filer_id": filer,
        "kind": kind,
        "submitted_at": "2026-12-05T10:00:00Z",
        "text": "as asked",
        **extra,
    }


def _case(bench: WorkbenchProcess, declaration_id: str) -> tuple[int, str]:
    rows = bench.wait_for(
        "SELECT case_id, outcome FROM cases WHERE declaration_id = %s", (declaration_id,)
    )
    return rows[0][0], rows[0][1]


def _notices(settings: Settings, filer: str, kind: str, expected: int) -> list[dict[str, Any]]:
    """The notices of one kind to one filer, once ``expected`` of them have come."""
    marker = f'"kind":"{kind}"'.encode()
    records = collect(
        settings,
        topics.FILER_NOTICES,
        lambda r: r.key == filer.encode() and marker in r.value,
        expected=expected,
    )
    return [orjson.loads(r.value) for r in records]


def test_an_answered_rfi_and_a_cleared_hrcm_close_through_the_workbench(
    settings: Settings,
    worker: object,
    producer: Producer,
    run_id: str,
    workbench: WorkbenchProcess,
) -> None:
    filer = f"{run_id}-FILER"
    rfi = _file(producer, f"{run_id}-RFI", CHAPTER_ONLY, filer)
    hrcm = _file(producer, f"{run_id}-HRCM", ARMS, filer)
    rfi_case, outcome = _case(workbench, rfi["declaration_id"])
    assert outcome == "RFI"
    hrcm_case, outcome = _case(workbench, hrcm["declaration_id"])
    assert outcome == "HRCM"

    _respond(producer, _response(rfi, filer, "RFI_ANSWER", text="HS 940360, wooden"), filer)
    _respond(
        producer,
        _response(hrcm, filer, "SCREENING_RESULT", method="XRAY", result="CLEARED"),
        filer,
    )
    workbench.wait_for("SELECT 1 FROM cases WHERE case_id = %s AND screening_cleared", (hrcm_case,))
    workbench.wait_for(
        "SELECT 1 FROM referral_responses WHERE case_id = %s AND kind = 'RFI_ANSWER'",
        (rfi_case,),
    )
    officer = Officer(workbench.url)
    officer.login("officer")
    page = officer.case_page(rfi_case).text
    assert "HS 940360, wooden" in page
    closed = officer.post(
        f"/cases/{rfi_case}/close", revision=officer.revision(rfi_case), disposition="RELEASED"
    )
    assert closed.status_code == 303
    assert 'data-testid="release-cleared-form"' in officer.case_page(hrcm_case).text
    released = officer.post(
        f"/cases/{hrcm_case}/release-cleared", revision=officer.revision(hrcm_case)
    )
    assert released.status_code == 303
    assert workbench.query(
        "SELECT case_id, status, disposition FROM cases WHERE case_id IN (%s, %s) ORDER BY case_id",
        (rfi_case, hrcm_case),
    ) == sorted([(rfi_case, "CLOSED", "RELEASED"), (hrcm_case, "CLOSED", "RELEASED")])
    kinds = [
        row[0]
        for row in workbench.query(
            "SELECT kind FROM case_events WHERE case_id = %s ORDER BY event_id", (hrcm_case,)
        )
    ]
    assert kinds == ["OPENED", "RESPONSE_RECEIVED", "CLOSED"]

    # The filer hears both decisions, and nothing of why the cargo was selected.
    decided = [
        n
        for n in _notices(settings, filer, "REFERRAL_CLOSED", expected=2)
        if "may be loaded" in n["text"]
    ]
    assert sorted(n["declaration_id"] for n in decided) == sorted(
        [rfi["declaration_id"], hrcm["declaration_id"]]
    )
    for notice in decided:
        assert "HS-" not in notice["text"]
        assert "score" not in notice["text"].lower()
    officer.close()


def test_a_screening_that_did_not_clear_goes_to_the_top(
    settings: Settings,
    worker: object,
    producer: Producer,
    run_id: str,
    workbench: WorkbenchProcess,
) -> None:
    filer = f"{run_id}-FILER"
    hrcm = _file(producer, f"{run_id}-NC", ARMS, filer)
    case_id, _ = _case(workbench, hrcm["declaration_id"])
    _respond(
        producer,
        _response(hrcm, filer, "SCREENING_RESULT", method="ETD", result="NOT_CLEARED"),
        filer,
    )
    workbench.wait_for(
        "SELECT 1 FROM cases WHERE case_id = %s AND escalation = 'NOT_CLEARED'", (case_id,)
    )
    with psycopg.connect(workbench.database_url, autocommit=True) as conn:
        rows = worklist.fetch(conn, worklist.Filters(), page_size=10_000).rows
    order = [row["case_id"] for row in rows]
    calm = [row["case_id"] for row in rows if row["escalation"] is None]
    assert not calm or order.index(case_id) < order.index(calm[0])
    officer = Officer(workbench.url)
    officer.login("officer")
    page = officer.case_page(case_id).text
    assert "did not clear the consignment" in page
    assert 'data-testid="release-cleared-form"' not in page
    officer.close()


def test_forged_misfit_and_malformed_responses_are_refused_and_change_nothing(
    settings: Settings,
    worker: object,
    producer: Producer,
    run_id: str,
    workbench: WorkbenchProcess,
) -> None:
    filer, forger = f"{run_id}-FILER", f"{run_id}-FORGER"
    hrcm = _file(producer, f"{run_id}-F", ARMS, filer)
    case_id, _ = _case(workbench, hrcm["declaration_id"])
    before = workbench.query(
        "SELECT status, revision, screening_cleared FROM cases WHERE case_id = %s", (case_id,)
    )
    sent = [
        ("NOT_OPEN", forger, _response(hrcm, forger, "SCREENING_RESULT", method="XRAY",
                                       result="CLEARED")),
        ("NOT_OPEN", forger, _response({**hrcm, "declaration_id": f"{run_id}-NONE"}, forger,
                                       "RFI_ANSWER")),
        ("WRONG_KIND", filer, _response(hrcm, filer, "RFI_ANSWER")),
        ("SUPERSEDED", filer, _response({**hrcm, "version": 7}, filer, "SCREENING_RESULT",
                                        method="XRAY", result="CLEARED")),
        ("INCOMPLETE", filer, _response(hrcm, filer, "SCREENING_RESULT", method="XRAY")),
        ("MALFORMED", filer, _response(hrcm, filer, "SCREENING_RESULT", method="SNIFFING",
                                       result="CLEARED")),
    ]  # fmt: skip
    for _, _, payload in sent:
        _respond(producer, payload, str(payload["declaration_id"]))
    _respond(producer, b"{not json", hrcm["declaration_id"])
    dead = collect(
        settings,
        topics.REFERRAL_RESPONSES_DLQ,
        lambda r: (
            base64.b64decode(orjson.loads(r.value)["original"]).find(run_id.encode()) >= 0
            or r.key == hrcm["declaration_id"].encode()
        ),
        expected=len(sent) + 1,
    )
    codes = sorted(orjson.loads(r.value)["error"]["code"] for r in dead)
    assert codes == sorted([code for code, _, _ in sent] + ["MALFORMED"])
    # Each sender that named itself hears REJECTED; the forger learns nothing of the filing.
    forged = _notices(settings, forger, "REJECTED", expected=2)
    assert len(forged) == 2
    assert {n["text"] for n in forged} == {
        "Your response was not accepted: there is no open request from customs for this "
        "declaration version for you. Correct it and send it again."
    }
    rejected = _notices(settings, filer, "REJECTED", expected=4)
    assert len(rejected) == 4
    assert all(n["errors"] and n["errors"][0]["path"].startswith("$") for n in rejected)
    assert (
        workbench.query(
            "SELECT status, revision, screening_cleared FROM cases WHERE case_id = %s", (case_id,)
        )
        == before
    )
    assert workbench.query(
        "SELECT count(*) FROM referral_responses WHERE case_id = %s", (case_id,)
    ) == [(0,)]


def test_a_referral_not_answered_before_loading_is_escalated(
    settings: Settings,
    worker: object,
    producer: Producer,
    run_id: str,
    workbench: WorkbenchProcess,
) -> None:
    # The test filings load on 2026-11-23: long past.
    filer = f"{run_id}-FILER"
    late = _file(producer, f"{run_id}-LATE", ARMS, filer)
    answered = _file(producer, f"{run_id}-ANS", ARMS, filer)
    late_case, _ = _case(workbench, late["declaration_id"])
    answered_case, _ = _case(workbench, answered["declaration_id"])
    _respond(
        producer,
        _response(answered, filer, "SCREENING_RESULT", method="EDS", result="CLEARED"),
        filer,
    )
    workbench.wait_for("SELECT 1 FROM cases WHERE case_id = %s AND screening_cleared",
                       (answered_case,))  # fmt: skip
    with psycopg.connect(workbench.database_url, autocommit=True) as conn:
        escalate_overdue(conn, timedelta(hours=4))
    escalations = dict(
        workbench.query(
            "SELECT case_id, escalation FROM cases WHERE case_id IN (%s, %s)",
            (late_case, answered_case),
        )
    )
    assert escalations == {late_case: "DEADLINE", answered_case: None}
    assert workbench.query(
        "SELECT count(*) FROM case_events WHERE case_id = %s AND kind = 'ESCALATED'",
        (late_case,),
    ) == [(1,)]
    overdue = metrics.REGISTRY.get_sample_value(
        "screening_workbench_overdue_referrals", {"outcome": "HRCM"}
    )
    assert overdue is not None
    assert overdue >= 1
