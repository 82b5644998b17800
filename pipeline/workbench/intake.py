"""Referrals into cases: what a hit, a withdrawn hit or an assessment changes in the database.

Each function runs inside the ingest transaction. A hit opens a case, or moves the open case of
its declaration to the newer version; a hit's tombstone (the declaration was amended to no
referral, or invalidated) closes the open case as ``WITHDRAWN``. Every change is audited.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pipeline.workbench import audit
from pipeline.workbench.referrals import Referral, clean

_CASE_COLUMNS = (
    "version, outcome, priority, score, summary, mode, office, loading_location,"
    " estimated_loading_at, transport_document, container_ids, rule_ids, party_names,"
    " assessed_at, filer_id, master_number, ucr"
)


def apply_hit(conn: psycopg.Connection[Any], referral: Referral) -> str:
    """Write one referral version; return what it did: opened, amended or stale."""
    _store_referral(conn, referral)
    _store_assessment_of(conn, referral)
    open_case = conn.execute(
        "SELECT case_id, version, outcome, score FROM cases"
        " WHERE declaration_id = %s AND status <> 'CLOSED' FOR UPDATE",
        (referral.declaration_id,),
    ).fetchone()
    if open_case is not None:
        case_id, version, outcome, score = open_case
        if referral.version <= version:
            return "stale"
        conn.execute(
            f"UPDATE cases SET ({_CASE_COLUMNS}) = ({_placeholders()}),"
            " updated_at = now(), revision = revision + 1 WHERE case_id = %s",
            (*_case_values(referral), case_id),
        )
        _link(conn, case_id, referral)
        audit.record(
            conn,
            case_id,
            referral.declaration_id,
            referral.version,
            "REFERRAL_AMENDED",
            audit.SYSTEM,
            before={"version": version, "outcome": outcome, "score": score},
            after=_referral_summary(referral),
        )
        return "amended"
    newest_closed = conn.execute(
        "SELECT max(version) FROM cases WHERE declaration_id = %s", (referral.declaration_id,)
    ).fetchone()
    if newest_closed and newest_closed[0] is not None and referral.version <= newest_closed[0]:
        return "stale"  # a version already worked and closed
    row = conn.execute(
        f"INSERT INTO cases (declaration_id, {_CASE_COLUMNS})"
        f" VALUES (%s, {_placeholders()}) RETURNING case_id",
        (referral.declaration_id, *_case_values(referral)),
    ).fetchone()
    assert row is not None
    case_id = row[0]
    _link(conn, case_id, referral)
    audit.record(
        conn,
        case_id,
        referral.declaration_id,
        referral.version,
        "OPENED",
        audit.SYSTEM,
        after=_referral_summary(referral),
    )
    return "opened"


def _store_assessment_of(conn: psycopg.Connection[Any], referral: Referral) -> None:
    """A hit is its version's assessment (the contract's Assessment fields): its row is kept
    here too. The assessment record itself is on another topic and may be read first, before
    the case it belongs to exists, when it is not kept."""
    conn.execute(
        "INSERT INTO assessments (declaration_id, version, outcome, score, message_type,"
        " superseded_by, assessed_at) VALUES (%s, %s, %s, %s, %s, NULL, %s)"
        " ON CONFLICT DO NOTHING",
        (
            referral.declaration_id,
            referral.version,
            referral.outcome,
            referral.score,
            str(referral.hit.get("message_type") or "FILING"),
            referral.assessed_at,
        ),
    )


def _store_referral(conn: psycopg.Connection[Any], referral: Referral) -> None:
    """Keep the referral version, its filing as the filer's own text where it came so.

    PostgreSQL's jsonb refuses what JSON allows in a string (``\\u0000``): such a filing is
    kept without those characters rather than not at all, and the row says so."""
    statement = (
        "INSERT INTO referrals (declaration_id, version, outcome, score, hit, declaration,"
        " assessed_at) VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s) ON CONFLICT DO NOTHING"
    )
    head = (referral.declaration_id, referral.version, referral.outcome, referral.score)
    declaration: str | None = referral.declaration_json
    if declaration is None and referral.declaration is not None:
        declaration = _dumps(referral.declaration)
    try:
        with conn.transaction():  # a savepoint: a refused value leaves the batch intact
            conn.execute(
                statement,
                (*head, Jsonb(referral.hit), declaration, referral.assessed_at),
            )
        return
    except (psycopg.errors.UntranslatableCharacter, psycopg.errors.InvalidTextRepresentation):
        pass
    hit = _scrub(referral.hit)
    hit["stored_without_nul_characters"] = True
    conn.execute(
        statement,
        (
            *head,
            Jsonb(hit),
            _dumps(_scrub(referral.declaration)) if referral.declaration is not None else None,
            referral.assessed_at,
        ),
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_number, ensure_ascii=False)


def _number(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() and abs(value) < Decimal("1e300") else str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _scrub(value: Any) -> Any:
    """The same document without NUL characters in any string, key or value."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(str(k)): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def apply_withdrawal(
    conn: psycopg.Connection[Any], declaration_id: str, retention: timedelta
) -> bool:
    """Close the declaration's open case: its referral was withdrawn. True if one was open."""
    row = conn.execute(
        "SELECT case_id, version, status FROM cases"
        " WHERE declaration_id = %s AND status <> 'CLOSED' FOR UPDATE",
        (declaration_id,),
    ).fetchone()
    if row is None:
        return False
    case_id, version, status_before = row
    conn.execute(
        "UPDATE cases SET status = 'CLOSED', disposition = 'WITHDRAWN', closed_at = now(),"
        " retain_until = now() + %s, updated_at = now(), revision = revision + 1"
        " WHERE case_id = %s",
        (retention, case_id),
    )
    latest = conn.execute(
        "SELECT version, outcome, message_type FROM assessments WHERE declaration_id = %s"
        " ORDER BY version DESC LIMIT 1",
        (declaration_id,),
    ).fetchone()
    after: dict[str, Any] = {"status": "CLOSED", "disposition": "WITHDRAWN"}
    if latest is not None and latest[0] > version:
        after.update(version=latest[0], outcome=latest[1], message_type=latest[2])
    audit.record(
        conn,
        case_id,
        declaration_id,
        version,
        "WITHDRAWN",
        audit.SYSTEM,
        before={"status": status_before},
        after=after,
        note="The filer's newer version is no longer a referral, or the filing was invalidated.",
    )
    return True


def record_assessments(conn: psycopg.Connection[Any], assessments: Iterable[dict[str, Any]]) -> int:
    """Keep the assessments of declarations that have a case; return how many were kept."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for assessment in assessments:
        by_id.setdefault(str(assessment["declaration_id"]), []).append(assessment)
    if not by_id:
        return 0
    known = conn.execute(
        "SELECT DISTINCT declaration_id FROM cases WHERE declaration_id = ANY(%s)",
        (list(by_id),),
    ).fetchall()
    rows = [
        (
            a["declaration_id"],
            int(a["version"]),
            str(a["outcome"]),
            float(a["score"]),
            str(a.get("message_type") or "FILING"),
            a.get("superseded_by"),
            a["assessed_at"],
        )
        for (declaration_id,) in known
        for a in by_id[declaration_id]
    ]
    if rows:
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO assessments (declaration_id, version, outcome, score, message_type,"
                " superseded_by, assessed_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                rows,
            )
    return len(rows)


def _placeholders() -> str:
    return ", ".join(["%s"] * len(_CASE_COLUMNS.split(",")))


def _case_values(referral: Referral) -> tuple[Any, ...]:
    return (
        referral.version,
        referral.outcome,
        referral.priority,
        referral.score,
        referral.summary,
        referral.mode,
        referral.office,
        referral.loading_location,
        referral.estimated_loading_at,
        referral.transport_document,
        referral.container_ids,
        referral.rule_ids,
        referral.party_names,
        referral.assessed_at,
        referral.filer_id,
        referral.master_number,
        referral.ucr,
    )


def _link(conn: psycopg.Connection[Any], case_id: int, referral: Referral) -> None:
    """Point the referral version at its case and set the case's parties to this version's."""
    conn.execute(
        "UPDATE referrals SET case_id = %s WHERE declaration_id = %s AND version = %s",
        (case_id, referral.declaration_id, referral.version),
    )
    conn.execute("DELETE FROM case_parties WHERE case_id = %s", (case_id,))
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO case_parties (case_id, role, party_key, name, country, ids)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [(case_id, p.role, p.party_key, p.name, p.country, p.ids) for p in referral.parties],
        )


def _referral_summary(referral: Referral) -> dict[str, Any]:
    return {
        "version": referral.version,
        "outcome": referral.outcome,
        "score": referral.score,
        "rules": referral.rule_ids,
    }
