"""What officers do to a case, and what the case view shows.

Every action runs in one transaction: it checks the role and the case's state, changes the
case, appends its audit event and queues what Kafka must hear. A refused action changes
nothing and says why in words an officer can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row

from pipeline import topics
from pipeline.errors import ScreeningError
from pipeline.reference.clearances import WatchlistClearance, clearance_key, encode
from pipeline.workbench import audit, notices, partner_outbound, partner_panel, partners
from pipeline.workbench.accounts import Account
from pipeline.workbench.referrals import filed_master

DISPOSITIONS = ("EXAMINATION_ORDERED", "RELEASED", "FALSE_POSITIVE", "CONFIRMED_RISK")
EXAMINATION_RESULTS = ("SEIZURE", "IRREGULARITY", "NO_FINDING", "NOT_EXAMINED")
MAX_COMMENT = 4000
MAX_CLEARANCE_DAYS = 730
MAX_MASTER_HOUSES = 50  # a consolidation rarely has more houses; the search finds them all
# Read through the partial index cases_by_master, already in the order shown.
OTHER_HOUSES = (
    "SELECT case_id, declaration_id, version, outcome, status, disposition, assessed_at"
    " FROM cases WHERE master_number = %s AND declaration_id <> %s"
    " ORDER BY assessed_at DESC, case_id DESC LIMIT %s"
)


class CaseError(ScreeningError):
    """An action on a case was refused; the message says why, for the officer."""

    status_code = 400


class CaseNotFound(CaseError):
    status_code = 404


class NotAllowed(CaseError):
    status_code = 403


class CaseConflict(CaseError):
    """Someone else changed the case first: reload it and decide again."""

    status_code = 409


@dataclass(frozen=True)
class WatchlistMatch:
    role: str
    entry_id: str
    list: str | None
    how: str | None
    party_key: str | None
    party_name: str | None


# --- reading --------------------------------------------------------------------------------


def case_view(
    conn: psycopg.Connection[Any], case_id: int, exchange: partners.Exchange | None = None
) -> dict[str, Any]:
    """Everything the case page shows, read in one transaction."""
    with conn.cursor(row_factory=dict_row) as cur:
        case = cur.execute(
            "SELECT *, now() AS now FROM cases WHERE case_id = %s", (case_id,)
        ).fetchone()
        if case is None:
            raise CaseNotFound(f"there is no case {case_id}")
        referral = cur.execute(
            "SELECT hit, declaration, received_at FROM referrals"
            " WHERE declaration_id = %s AND version = %s",
            (case["declaration_id"], case["version"]),
        ).fetchone()
        versions = cur.execute(
            "SELECT v.version, coalesce(a.outcome, r.outcome) AS outcome,"
            " coalesce(a.score, r.score) AS score, a.message_type, a.superseded_by,"
            " coalesce(a.assessed_at, r.assessed_at) AS assessed_at, r.case_id"
            " FROM (SELECT version FROM referrals WHERE declaration_id = %(d)s"
            "       UNION SELECT version FROM assessments WHERE declaration_id = %(d)s) v"
            " LEFT JOIN assessments a ON a.declaration_id = %(d)s AND a.version = v.version"
            " LEFT JOIN referrals r ON r.declaration_id = %(d)s AND r.version = v.version"
            " ORDER BY v.version DESC",
            {"d": case["declaration_id"]},
        ).fetchall()
        events = cur.execute(
            "SELECT event_id, at, actor, kind, before, after, note FROM case_events"
            " WHERE case_id = %s ORDER BY event_id",
            (case_id,),
        ).fetchall()
        parties = cur.execute(
            "SELECT role, party_key, name, country, ids FROM case_parties WHERE case_id = %s"
            " ORDER BY array_position(ARRAY['declarant','consignor','consignee','carrier',"
            "'notify_party'], role)",
            (case_id,),
        ).fetchall()
        history = cur.execute(
            "SELECT p.party_key, c.case_id, c.declaration_id, c.version, c.outcome, c.status,"
            " c.disposition, c.opened_at,"
            " (SELECT string_agg(e.result, ', ' ORDER BY e.examination_id) FROM examinations e"
            "  WHERE e.case_id = c.case_id) AS examinations"
            " FROM case_parties p JOIN cases c ON c.case_id = p.case_id"
            " WHERE p.party_key = ANY(%s) AND c.case_id <> %s"
            " ORDER BY c.opened_at DESC LIMIT 200",
            ([p["party_key"] for p in parties], case_id),
        ).fetchall()
        examinations = cur.execute(
            "SELECT result, examined_at, recorded_by, recorded_at FROM examinations"
            " WHERE case_id = %s ORDER BY examination_id",
            (case_id,),
        ).fetchall()
        responses = cur.execute(
            "SELECT version, filer_id, kind, submitted_at, text, method, result, received_at"
            " FROM referral_responses WHERE case_id = %s ORDER BY response_id",
            (case_id,),
        ).fetchall()
        clearances = cur.execute(
            "SELECT clearance_id, role, party_name, entry_id, reason, expires_on, cleared_by,"
            " cleared_at, lifted_by, lifted_at FROM clearances WHERE case_id = %s"
            " ORDER BY clearance_id",
            (case_id,),
        ).fetchall()
        houses = _other_houses(cur, case)
        exchanged = partner_panel.case_panel(conn, exchange, case)
    hit = referral["hit"] if referral else {}
    declaration = referral["declaration"] if referral else None
    by_party: dict[str, list[dict[str, Any]]] = {}
    for row in history:
        by_party.setdefault(row["party_key"], []).append(row)
    return {
        "case": case,
        "hit": hit,
        "declaration": declaration,
        "master_number": _master_as_filed(case, declaration),
        "master_houses": houses,
        "versions": versions,
        "events": events,
        "parties": parties,
        "party_history": by_party,
        "examinations": examinations,
        "responses": responses,
        "clearances": clearances,
        "watchlist_matches": watchlist_matches(hit, parties),
        **exchanged,
    }


def _other_houses(cur: psycopg.Cursor[dict[str, Any]], case: dict[str, Any]) -> list[Any]:
    """The cases of the other house filings of this case's master, open and closed, the most
    recently assessed first: whichever house was referred first, each sees the others. The
    declaration's own earlier cases are its versions, not other houses."""
    if case["master_number"] is None:
        return []
    return cur.execute(
        OTHER_HOUSES, (case["master_number"], case["declaration_id"], MAX_MASTER_HOUSES)
    ).fetchall()


def _master_as_filed(case: dict[str, Any], declaration: dict[str, Any] | None) -> str | None:
    """The master number as this version's filing wrote it; the key when the hit carried no
    filing."""
    if case["master_number"] is None:
        return None
    return filed_master(declaration or {}) or str(case["master_number"])


def watchlist_matches(hit: dict[str, Any], parties: list[dict[str, Any]]) -> list[WatchlistMatch]:
    """The watch-list entries this referral's parties matched, from the matches' evidence."""
    by_role = {p["role"]: p for p in parties}
    found: dict[tuple[str, str], WatchlistMatch] = {}
    for match in hit.get("matches") or []:
        evidence = match.get("evidence") or {}
        for path, value in evidence.items():
            role, _, fact = str(path).partition(".")
            if fact != "watchlist_entry" or not value:
                continue
            party = by_role.get(role)
            found[(role, str(value))] = WatchlistMatch(
                role=role,
                entry_id=str(value),
                list=evidence.get(f"{role}.watchlist_list"),
                how=evidence.get(f"{role}.watchlist_match"),
                party_key=party["party_key"] if party else None,
                party_name=party["name"] if party else None,
            )
    return list(found.values())


# --- acting ---------------------------------------------------------------------------------


def claim(conn: psycopg.Connection[Any], actor: Account, case_id: int) -> None:
    must_work(actor)
    with conn.transaction():
        row = conn.execute(
            "UPDATE cases SET assignee = %s, updated_at = now(), revision = revision + 1,"
            " status = CASE WHEN status = 'OPEN' THEN 'IN_PROGRESS' ELSE status END"
            " WHERE case_id = %s AND status <> 'CLOSED' AND assignee IS NULL"
            " RETURNING declaration_id, version",
            (actor.username, case_id),
        ).fetchone()
        if row is None:
            case = _case(conn, case_id)
            if case["status"] == "CLOSED":
                raise CaseConflict("the case is closed")
            if case["assignee"] == actor.username:
                raise CaseConflict("you have already claimed this case")
            raise CaseConflict(f"{case['assignee']} has already claimed this case")
        audit.record(
            conn, case_id, row[0], row[1], "CLAIMED", actor.username,
            after={"assignee": actor.username},
        )  # fmt: skip


def assign(
    conn: psycopg.Connection[Any], actor: Account, case_id: int, to: str, revision: int
) -> None:
    if not actor.is_supervisor:
        raise NotAllowed("only a supervisor assigns cases to others; claim it instead")
    with conn.transaction():
        case = _open_case(conn, case_id, revision)
        worker = conn.execute(
            "SELECT 1 FROM accounts WHERE username = %s AND active"
            " AND role IN ('officer', 'supervisor')",
            (to,),
        ).fetchone()
        if worker is None:
            raise CaseError(f"{to!r} is not an officer or supervisor who can take cases")
        _update(conn, case_id, assignee=to, status=_worked(case["status"]))
        audit.record(
            conn, case_id, case["declaration_id"], case["version"], "ASSIGNED", actor.username,
            before={"assignee": case["assignee"]}, after={"assignee": to},
        )  # fmt: skip


def unassign(conn: psycopg.Connection[Any], actor: Account, case_id: int, revision: int) -> None:
    must_work(actor)
    with conn.transaction():
        case = _open_case(conn, case_id, revision)
        if case["assignee"] is None:
            raise CaseConflict("the case is not assigned")
        if case["assignee"] != actor.username and not actor.is_supervisor:
            raise NotAllowed("only the assignee or a supervisor can release the case")
        _update(conn, case_id, assignee=None, status="OPEN")
        audit.record(
            conn, case_id, case["declaration_id"], case["version"], "UNASSIGNED",
            actor.username, before={"assignee": case["assignee"], "status": case["status"]},
            after={"assignee": None, "status": "OPEN"},
        )  # fmt: skip


def comment(conn: psycopg.Connection[Any], actor: Account, case_id: int, text: str) -> None:
    must_work(actor)
    text = text.strip()
    if not text:
        raise CaseError("the comment is empty")
    if len(text) > MAX_COMMENT:
        raise CaseError(f"a comment has at most {MAX_COMMENT} characters")
    with conn.transaction():
        case = _case(conn, case_id, lock=True)
        audit.record(
            conn, case_id, case["declaration_id"], case["version"], "COMMENTED",
            actor.username, note=text,
        )  # fmt: skip


def close(
    conn: psycopg.Connection[Any],
    actor: Account,
    case_id: int,
    disposition: str,
    note: str,
    revision: int,
    retention: timedelta,
) -> None:
    must_work(actor)
    if disposition not in DISPOSITIONS:
        raise CaseError(f"the disposition must be one of {', '.join(DISPOSITIONS)}")
    note = note.strip()
    if len(note) > MAX_COMMENT:
        raise CaseError(f"a note has at most {MAX_COMMENT} characters")
    with conn.transaction():
        case = _open_case(conn, case_id, revision)
        if case["outcome"] == "DNL" and not actor.is_supervisor:
            raise NotAllowed("closing a do-not-load case needs a supervisor (four eyes)")
        if case["assignee"] not in (None, actor.username) and not actor.is_supervisor:
            raise NotAllowed(f"the case is assigned to {case['assignee']}")
        conn.execute(
            "UPDATE cases SET status = 'CLOSED', disposition = %s, closed_at = now(),"
            " retain_until = now() + %s, updated_at = now(), revision = revision + 1,"
            " assignee = coalesce(assignee, %s) WHERE case_id = %s",
            (disposition, retention, actor.username, case_id),
        )
        event_id = audit.record(
            conn, case_id, case["declaration_id"], case["version"], "CLOSED", actor.username,
            before={"status": case["status"]},
            after={"status": "CLOSED", "disposition": disposition}, note=note or None,
        )  # fmt: skip
        notices.decision(conn, case, disposition, event_id)


def release_cleared(
    conn: psycopg.Connection[Any],
    actor: Account,
    case_id: int,
    revision: int,
    retention: timedelta,
) -> None:
    """Close an HRCM case in one step: the filer's screening by an approved method cleared it."""
    with conn.transaction():
        case = _open_case(conn, case_id, revision)
        if case["outcome"] != "HRCM" or not case["screening_cleared"]:
            raise CaseError("only an HRCM case whose screening cleared it is released in one step")
        screening = conn.execute(
            "SELECT method FROM referral_responses WHERE case_id = %s AND result = 'CLEARED'"
            " ORDER BY response_id DESC LIMIT 1",
            (case_id,),
        ).fetchone()
        method = screening[0] if screening else "an approved method"
        close(
            conn, actor, case_id, "RELEASED", f"screening by {method} cleared the consignment",
            revision, retention,
        )  # fmt: skip


def start_work(conn: psycopg.Connection[Any], actor: Account, case_id: int, revision: int) -> None:
    """Mark an open case in progress (claiming does this too)."""
    must_work(actor)
    with conn.transaction():
        case = _open_case(conn, case_id, revision)
        if case["status"] != "OPEN":
            raise CaseConflict("the case is already in progress")
        _update(conn, case_id, status="IN_PROGRESS")
        audit.record(
            conn, case_id, case["declaration_id"], case["version"], "STATUS_CHANGED",
            actor.username, before={"status": "OPEN"}, after={"status": "IN_PROGRESS"},
        )  # fmt: skip


def record_examination(
    conn: psycopg.Connection[Any],
    actor: Account,
    case_id: int,
    result: str,
    examined_at: datetime,
    exchange: partners.Exchange | None = None,
) -> None:
    """Record what the examination found, and publish it for rule effectiveness; with an
    ``exchange``, also answer the partners that asked for it."""
    must_work(actor)
    if result not in EXAMINATION_RESULTS:
        raise CaseError(f"the result must be one of {', '.join(EXAMINATION_RESULTS)}")
    if examined_at.tzinfo is None:
        raise CaseError("the examination time needs a time zone")
    if examined_at > datetime.now(UTC) + timedelta(minutes=5):
        raise CaseError("the examination time is in the future")
    with conn.transaction():
        case = _case(conn, case_id, lock=True)
        inserted = conn.execute(
            "INSERT INTO examinations (case_id, declaration_id, version, result, examined_at,"
            " recorded_by) VALUES (%s, %s, %s, %s, %s, %s) RETURNING examination_id",
            (case_id, case["declaration_id"], case["version"], result, examined_at,
             actor.username),
        ).fetchone()  # fmt: skip
        assert inserted is not None
        message = {
            "declaration_id": case["declaration_id"],
            "version": case["version"],
            "result": result,
            "examined_at": _rfc3339(examined_at),
            "officer_ref": actor.username,
        }
        if case["origin"] != partners.PARTNER_REQUEST:
            # A partner's request has no assessment of ours for rule effectiveness to join.
            audit.enqueue(
                conn,
                topics.EXAMINATION_RESULTS,
                case["declaration_id"].encode(),
                orjson.dumps(message),
            )
        audit.record(
            conn, case_id, case["declaration_id"], case["version"], "EXAMINATION_RECORDED",
            actor.username, after={"result": result, "examined_at": message["examined_at"]},
        )  # fmt: skip
        if exchange is not None:
            answered = partner_outbound.answer_requests(
                conn, exchange, case, inserted[0], result, examined_at, actor.username
            )
            partner_outbound.share_result(
                conn, exchange, case, inserted[0], result, examined_at, actor.username,
                frozenset(m.to_administration for m in answered),
            )  # fmt: skip


def clear_match(
    conn: psycopg.Connection[Any],
    actor: Account,
    case_id: int,
    role: str,
    entry_id: str,
    reason: str,
    expires_on: date,
) -> int:
    """Clear a false watch-list match: this party, this entry, until ``expires_on``."""
    if not actor.is_supervisor:
        raise NotAllowed("clearing a watch-list match needs a supervisor (four eyes)")
    reason = reason.strip()
    if not 10 <= len(reason) <= 2000:
        raise CaseError("give the reason in 10 to 2000 characters")
    today = datetime.now(UTC).date()
    if not today <= expires_on <= today + timedelta(days=MAX_CLEARANCE_DAYS):
        raise CaseError(f"the expiry must be from today to {MAX_CLEARANCE_DAYS} days ahead")
    with conn.transaction():
        view = case_view(conn, case_id)
        case = view["case"]
        match = next(
            (m for m in view["watchlist_matches"] if (m.role, m.entry_id) == (role, entry_id)),
            None,
        )
        if match is None or match.party_key is None:
            raise CaseError(f"the {role} did not match watch-list entry {entry_id} in this case")
        held = conn.execute(
            "SELECT expires_on FROM clearances WHERE party_key = %s AND entry_id = %s"
            " AND lifted_at IS NULL FOR UPDATE",
            (match.party_key, entry_id),
        ).fetchone()
        if held is not None:
            raise CaseConflict(f"this match is already cleared until {held[0]}")
        row = conn.execute(
            "INSERT INTO clearances (case_id, party_key, role, party_name, entry_id, reason,"
            " expires_on, cleared_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING clearance_id, cleared_at",
            (case_id, match.party_key, role, match.party_name or "", entry_id, reason,
             expires_on, actor.username),
        ).fetchone()  # fmt: skip
        assert row is not None
        clearance_id, cleared_at = row
        published = WatchlistClearance(
            party_key=match.party_key,
            entry_id=entry_id,
            expires_on=expires_on,
            cleared_at=cleared_at,
            clearance_id=str(clearance_id),
        )
        audit.enqueue(
            conn,
            topics.WATCHLIST_CLEARANCES,
            clearance_key(match.party_key, entry_id),
            encode(published),
        )
        audit.record(
            conn, case_id, case["declaration_id"], case["version"], "MATCH_CLEARED",
            actor.username,
            after={"role": role, "entry_id": entry_id, "expires_on": expires_on.isoformat(),
                   "clearance_id": clearance_id},
            note=reason,
        )  # fmt: skip
        return int(clearance_id)


def lift_clearance(conn: psycopg.Connection[Any], actor: Account, clearance_id: int) -> None:
    """End a clearance early: the party matches the entry again from the next filing."""
    if not actor.is_supervisor:
        raise NotAllowed("lifting a clearance needs a supervisor")
    with conn.transaction():
        row = conn.execute(
            "UPDATE clearances SET lifted_by = %s, lifted_at = now()"
            " WHERE clearance_id = %s AND lifted_at IS NULL"
            " RETURNING case_id, party_key, entry_id",
            (actor.username, clearance_id),
        ).fetchone()
        if row is None:
            raise CaseConflict("there is no clearance in force with that number")
        case_id, party, entry_id = row
        case = _case(conn, case_id)
        audit.enqueue(conn, topics.WATCHLIST_CLEARANCES, clearance_key(party, entry_id), None)
        audit.record(
            conn, case_id, case["declaration_id"], case["version"], "CLEARANCE_LIFTED",
            actor.username, after={"entry_id": entry_id, "clearance_id": clearance_id},
        )  # fmt: skip


# --- helpers --------------------------------------------------------------------------------


def must_work(actor: Account) -> None:
    """Refuse a change to a case from a role that only reads."""
    if not actor.can_work:
        raise NotAllowed("your role can read cases but not change them")


def _case(conn: psycopg.Connection[Any], case_id: int, lock: bool = False) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        case = cur.execute(
            "SELECT * FROM cases WHERE case_id = %s" + (" FOR UPDATE" if lock else ""),
            (case_id,),
        ).fetchone()
    if case is None:
        raise CaseNotFound(f"there is no case {case_id}")
    return case


def _open_case(conn: psycopg.Connection[Any], case_id: int, revision: int) -> dict[str, Any]:
    case = _case(conn, case_id, lock=True)
    if case["status"] == "CLOSED":
        raise CaseConflict("the case is closed")
    if case["revision"] != revision:
        raise CaseConflict("the case changed since you opened it: look at it again")
    return case


def _worked(status: str) -> str:
    return "IN_PROGRESS" if status == "OPEN" else status


def _update(conn: psycopg.Connection[Any], case_id: int, **columns: Any) -> None:
    assignments = ", ".join(f"{name} = %s" for name in columns)
    conn.execute(
        f"UPDATE cases SET {assignments}, updated_at = now(), revision = revision + 1"
        " WHERE case_id = %s",
        (*columns.values(), case_id),
    )


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
