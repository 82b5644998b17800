"""The filers' responses to referrals, checked and attached to their cases.

A response must answer an open referral of the filer who sent it, for the version in force,
with the kind that referral asks for: an RFI is answered (RFI_ANSWER), an HRCM is screened
(SCREENING_RESULT, with an approved method and its result), a DNL is acknowledged
(DNL_ACKNOWLEDGEMENT). One that fails a check is dead-lettered with a code and, where the
message names a filer, the filer gets a REJECTED notice, worded so that it says nothing of a
declaration that is not theirs. Everything happens in the ingest transaction.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson
import psycopg
from psycopg.rows import dict_row

from pipeline import topics
from pipeline.contract.models import ReferralResponse
from pipeline.workbench import audit, notices
from pipeline.workbench.referrals import clean

EXPECTED_KIND = {"RFI": "RFI_ANSWER", "HRCM": "SCREENING_RESULT", "DNL": "DNL_ACKNOWLEDGEMENT"}
_DECODER = msgspec.json.Decoder(ReferralResponse)
# One text for "no such declaration" and "not yours": a filer learns nothing of others'.
_NOT_OPEN_TO_YOU = "there is no open request from customs for this declaration version for you"


@dataclass(frozen=True)
class Refusal:
    code: str  # MALFORMED, NOT_OPEN, WRONG_KIND, CASE_CLOSED, SUPERSEDED, INCOMPLETE
    message: str  # for customs IT, in the dead letter
    path: str | None
    filer_text: str  # for the filer, in the REJECTED notice


def apply_response(
    conn: psycopg.Connection[Any],
    value: bytes | None,
    key: bytes | None,
    source: tuple[str, int, int],
) -> str:
    """Check one response and attach it, or refuse it; return the effect for the metrics."""
    try:
        response = _DECODER.decode(value or b"")
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        refusal = Refusal("MALFORMED", str(exc), _path(str(exc)), _plain(str(exc)))
        _refuse(conn, refusal, value, key, source, _filer_of(value), None)
        return "refused:MALFORMED"
    outcome = _check(conn, response)
    if isinstance(outcome, Refusal):
        _refuse(conn, outcome, value, key, source, response.filer_id, response)
        return f"refused:{outcome.code}"
    _attach(conn, outcome, response)
    return "attached"


def _check(conn: psycopg.Connection[Any], response: ReferralResponse) -> dict[str, Any] | Refusal:
    with conn.cursor(row_factory=dict_row) as cur:
        case = cur.execute(
            "SELECT * FROM cases WHERE declaration_id = %s ORDER BY (status <> 'CLOSED') DESC,"
            " case_id DESC LIMIT 1 FOR UPDATE",
            (response.declaration_id,),
        ).fetchone()
    if case is None or case["filer_id"] != response.filer_id:
        return Refusal(
            "NOT_OPEN",
            "no case of this declaration filed by this filer",
            "$.declaration_id",
            _NOT_OPEN_TO_YOU,
        )
    if case["status"] == "CLOSED":
        return Refusal(
            "CASE_CLOSED",
            f"case {case['case_id']} is closed",
            None,
            "customs has already closed its request for this declaration: nothing more is needed",
        )
    if response.version != case["version"]:
        return Refusal(
            "SUPERSEDED",
            f"the open referral is for version {case['version']}",
            "$.version",
            f"the open request is for version {case['version']} of this declaration: "
            "respond for that version",
        )
    expected = EXPECTED_KIND[case["outcome"]]
    if response.kind != expected:
        return Refusal(
            "WRONG_KIND",
            f"a {case['outcome']} referral is answered with {expected}",
            "$.kind",
            f"this request is answered with a response of kind {expected}",
        )
    if response.kind == "SCREENING_RESULT" and (response.method is None or response.result is None):
        return Refusal(
            "INCOMPLETE",
            "a screening result needs method and result",
            "$.method" if response.method is None else "$.result",
            "a screening result names the method (XRAY, EDS, ETD, EDD or PHYSICAL) and the "
            "result (CLEARED or NOT_CLEARED)",
        )
    return case


def _attach(
    conn: psycopg.Connection[Any], case: dict[str, Any], response: ReferralResponse
) -> None:
    text = clean(response.text)
    conn.execute(
        "INSERT INTO referral_responses (case_id, version, filer_id, kind, submitted_at, text,"
        " method, result) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (case["case_id"], response.version, clean(response.filer_id), response.kind,
         response.submitted_at, text, response.method, response.result),
    )  # fmt: skip
    cleared = response.kind == "SCREENING_RESULT" and response.result == "CLEARED"
    not_cleared = response.kind == "SCREENING_RESULT" and response.result == "NOT_CLEARED"
    conn.execute(
        "UPDATE cases SET responded_at = now(), updated_at = now(), revision = revision + 1,"
        " screening_cleared = %s,"
        " escalated_at = CASE WHEN %s THEN now() ELSE escalated_at END,"
        " escalation = CASE WHEN %s THEN 'NOT_CLEARED' ELSE escalation END"
        " WHERE case_id = %s",
        (cleared, not_cleared, not_cleared, case["case_id"]),
    )
    after: dict[str, Any] = {"kind": response.kind}
    if response.kind == "SCREENING_RESULT":
        after.update(method=response.method, result=response.result)
    audit.record(
        conn, case["case_id"], case["declaration_id"], case["version"], "RESPONSE_RECEIVED",
        f"filer:{clean(response.filer_id)}", after=after, note=text or None,
    )  # fmt: skip
    if not_cleared:
        audit.record(
            conn, case["case_id"], case["declaration_id"], case["version"], "ESCALATED",
            audit.SYSTEM, after={"escalation": "NOT_CLEARED"},
            note="The filer's screening did not clear the consignment.",
        )  # fmt: skip


def _refuse(
    conn: psycopg.Connection[Any],
    refusal: Refusal,
    value: bytes | None,
    key: bytes | None,
    source: tuple[str, int, int],
    filer_id: str | None,
    response: ReferralResponse | None,
) -> None:
    topic, partition, offset = source
    dead_letter = {
        "error": {"code": refusal.code, "message": refusal.message, "path": refusal.path},
        "source": {"topic": topic, "partition": partition, "offset": offset},
        "received_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "original": base64.b64encode(value or b"").decode("ascii"),
        "key": key.decode("utf-8", "replace") if key is not None else None,
    }
    audit.enqueue(conn, topics.REFERRAL_RESPONSES_DLQ, key or b"", orjson.dumps(dead_letter))
    if not filer_id:
        return
    declaration_id = response.declaration_id if response else _field(value, "declaration_id")
    version = response.version if response else _field(value, "version")
    notices.send(
        conn,
        filer_id=clean(filer_id),
        declaration_id=str(declaration_id or ""),
        version=version if isinstance(version, int) else 0,
        kind="REJECTED",
        text=f"Your response was not accepted: {refusal.filer_text}. Correct it and send it again.",
        identity=f"response:{topic}:{partition}:{offset}",
        errors=[{"path": refusal.path or "$", "message": refusal.filer_text}],
    )


def _filer_of(value: bytes | None) -> str | None:
    filer = _field(value, "filer_id")
    return filer if isinstance(filer, str) and 0 < len(filer) <= 512 else None


def _field(value: bytes | None, name: str) -> Any:
    try:
        document = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    return document.get(name) if isinstance(document, dict) else None


def _path(message: str) -> str | None:
    """msgspec names the field at the end of its message: "... - at `$.kind`"."""
    marker = "at `"
    if marker in message:
        return message.rsplit(marker, 1)[1].rstrip("`")
    return None


def _plain(message: str) -> str:
    """msgspec's message without its regular expressions and paths, in plain words."""
    text = message.split(" - at `", 1)[0]
    if "regex" in text:
        return "a value does not have the form the contract gives it"
    if text.startswith("Invalid enum value "):
        return f"{text.removeprefix('Invalid enum value ')} is not one of the values allowed here"
    return text[:1].lower() + text[1:] if text else "the response is not valid JSON"
