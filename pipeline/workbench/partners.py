"""Customs-to-Customs in the workbench: examination requests and results with partners.

Under the SAFE Framework the exporting administration examines outbound cargo at the
reasonable request of the importing one, and the results come back. Officers send an
EXAMINATION_REQUEST from a case; a partner's request opens a case of its own; an examination
recorded on a case a partner asked about answers it with an EXAMINATION_RESULT. Every message
is built by ``pipeline.c2c.outbound`` under the partner's sharing agreement and leaves through
the outbox, in the transaction of the change it reports. A partner's message is applied only
when it is valid, comes from a partner with an agreement, is addressed to us and is of a kind
the agreement accepts; any other is counted and logged without its payload.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
import orjson
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from pipeline import topics
from pipeline.c2c.agreements import Agreement, Agreements, AgreementsInvalid, load_agreements
from pipeline.c2c.categories import rule_tags
from pipeline.c2c.outbound import (
    MESSAGE_NAMESPACE,
    countries_of,
    examination_request_message,
    examination_result_message,
    message_key,
    partners_concerned,
)
from pipeline.contract.models import (
    Declaration,
    Equipment,
    ExaminationResult,
    Hit,
    PartnerMessage,
    Transport,
    TransportDocument,
)
from pipeline.errors import ScreeningError
from pipeline.rules.loader import load_ruleset
from pipeline.settings import Settings
from pipeline.workbench import audit, metrics

log = logging.getLogger(__name__)

# MirrorMaker 2 names a partner's topic `<alias>.customs.c2c.outbound.v1`; subscribing by
# pattern picks up a new partner's topic once it exists, without a restart.
INBOUND_SUFFIX = "." + topics.C2C_OUTBOUND
INBOUND_PATTERN = r"^[a-z0-9-]+\.customs\.c2c\.outbound\.v1$"
PARTNER_REQUEST = "PARTNER_REQUEST"
MAX_REASON = 2000
_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")
_T = TypeVar("_T")


class PartnerRefused(ScreeningError):
    """Nothing was sent to the partner administration; the message says why."""

    status_code = 400


class PartnerCaseNotFound(PartnerRefused):
    status_code = 404


class PartnerConflict(PartnerRefused):
    """The case changed meanwhile, or the request was already sent: look at the case again."""

    status_code = 409


@dataclass(frozen=True)
class Exchange:
    """What the workbench shares under: the agreements, our country and the rules' tags."""

    agreements: Agreements
    home: str
    tags_by_rule: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Exchange:
        """Load the agreements and the rule files' tags. Without an agreements folder, or with
        agreements that do not validate, nothing is shared (and the log says why)."""
        agreements = Agreements(())
        if settings.agreements_dir.is_dir():
            try:
                agreements = load_agreements(settings.agreements_dir)
            except AgreementsInvalid as exc:
                log.error("no partner exchange: %s", exc)
        tags: Mapping[str, Sequence[str]] = {}
        try:
            tags = rule_tags(load_ruleset(settings.rules_dir).rules)
        except (ScreeningError, OSError) as exc:
            # Every rule then counts as SECURITY, the category of a rule without tags.
            log.warning("rule tags unavailable for partner categories: %s", exc)
        return cls(agreements=agreements, home=settings.administration, tags_by_rule=tags)

    def now(self) -> datetime:
        return datetime.now(UTC)


def is_inbound_topic(topic: str | None) -> bool:
    return topic is not None and re.match(INBOUND_PATTERN, topic) is not None


# --- sending a request ----------------------------------------------------------------------


def request_partners(exchange: Exchange, hit: Hit | None, filing: Declaration | None) -> list[str]:
    """The partners an examination request for this referral may go to (for the form)."""
    if hit is None or filing is None:
        return []
    now = exchange.now()
    return [
        agreement.partner
        for agreement in exchange.agreements
        if examination_request_message(
            hit,
            filing,
            agreement,
            home=exchange.home,
            sent_at=now,
            tags_by_rule=exchange.tags_by_rule,
        )
        is not None
    ]


def send_request(
    conn: psycopg.Connection[Any],
    exchange: Exchange,
    actor: str,
    case_id: int,
    partner: str,
    *,
    revision: int | None = None,
    reason: str = "",
) -> PartnerMessage:
    """Ask ``partner`` to examine the consignment of a case before loading. The officer's
    reason stays on the timeline: officers' notes never leave."""
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise PartnerRefused(f"a reason has at most {MAX_REASON} characters")
    with conn.transaction():
        case = _locked_case(conn, case_id)
        if revision is not None and case["revision"] != revision:
            raise PartnerConflict("the case changed since you opened it: look at it again")
        if case["status"] == "CLOSED":
            raise PartnerRefused("the case is closed")
        if case["origin"] == PARTNER_REQUEST:
            raise PartnerRefused("this case is a partner's request: record the examination")
        hit, filing = referral_of(conn, case)
        if hit is None or filing is None:
            raise PartnerRefused("the referral carries no filing: nothing can be sent")
        now = exchange.now()
        agreement = exchange.agreements.by_partner.get(partner)
        _check_request(agreement, partner, filing, exchange.home, now)
        assert agreement is not None
        message = examination_request_message(
            hit, filing, agreement, home=exchange.home, sent_at=now,
            tags_by_rule=exchange.tags_by_rule,
        )  # fmt: skip
        if message is None:
            terms = agreement.terms("EXAMINATION_REQUEST")
            assert terms is not None
            raise PartnerRefused(
                f"the agreement with {partner} covers examination requests at level"
                f" {', '.join(sorted(terms.levels))} in {', '.join(sorted(terms.categories))}"
                " only: this referral is outside it; nothing was sent"
            )
        if not _store(conn, message, "OUT", partner, case_id, actor):
            raise PartnerConflict(
                f"an examination request for version {case['version']} was already sent to"
                f" {partner}"
            )
        _publish(conn, message)
        audit.record(
            conn, case_id, case["declaration_id"], case["version"], "PARTNER_REQUEST_SENT",
            actor, after={"partner": partner, "message_id": message.message_id,
                          "level": message.level, "categories": message.categories},
            note=reason or None,
        )  # fmt: skip
        return message


def _check_request(
    agreement: Agreement | None, partner: str, filing: Declaration, home: str, now: datetime
) -> None:
    if agreement is None:
        raise PartnerRefused(f"there is no sharing agreement with {partner}: nothing was sent")
    if agreement.terms("EXAMINATION_REQUEST") is None:
        raise PartnerRefused(
            f"the agreement with {partner} does not allow examination requests: nothing was sent"
        )
    if not agreement.in_force(now.date()):
        raise PartnerRefused(f"the agreement with {partner} is not in force: nothing was sent")
    if partner == home or partner not in countries_of(filing):
        raise PartnerRefused(
            f"the consignment does not concern {partner} (not loaded, routed through,"
            " originating or discharged there): nothing was sent"
        )


# --- answering with a result ----------------------------------------------------------------


def answer_requests(
    conn: psycopg.Connection[Any],
    exchange: Exchange,
    case: Mapping[str, Any],
    examination_id: int,
    result: str,
    examined_at: datetime,
    actor: str,
) -> list[PartnerMessage]:
    """Send the result of an examination to every partner that asked about the consignment
    (the request that opened the case, or one that names the same UCR, transport document or
    container), when its agreement allows; each refusal is on the timeline."""
    with conn.cursor(row_factory=dict_row) as cur:
        requests = cur.execute(
            "SELECT DISTINCT ON (partner) message_id, partner, payload FROM partner_messages"
            " WHERE direction = 'IN' AND kind = 'EXAMINATION_REQUEST' AND (case_id = %(case)s"
            f" OR {_SAME_CONSIGNMENT}) ORDER BY partner, partner_message_id DESC",
            {"case": case["case_id"], **_consignment(case)},
        ).fetchall()
    if not requests:
        return []
    _, own_filing = referral_of(conn, case)
    sent = []
    for request in requests:
        partner = request["partner"]
        asked = msgspec.convert(request["payload"], type=PartnerMessage, strict=False)
        filing = own_filing or _filing_of_request(asked)
        outcome = ExaminationResult(
            declaration_id=filing.declaration_id,
            version=filing.version,
            result=result,  # type: ignore[arg-type]  # checked by the caller
            examined_at=examined_at,
        )
        agreement = exchange.agreements.by_partner.get(partner)
        message = None
        if agreement is not None:
            message = examination_result_message(
                outcome, filing, agreement, home=exchange.home, sent_at=exchange.now(),
                in_reply_to=request["message_id"],
            )  # fmt: skip
        if message is None:
            audit.record(
                conn, case["case_id"], case["declaration_id"], case["version"],
                "PARTNER_RESULT_NOT_SENT", audit.SYSTEM,
                after={"partner": partner, "in_reply_to": request["message_id"]},
                note=f"The agreement with {partner} does not allow sending this result.",
            )  # fmt: skip
            continue
        # One message per examination: a later examination's result is news to the partner.
        unique = uuid.uuid5(MESSAGE_NAMESPACE, f"{request['message_id']}/{examination_id}")
        message = msgspec.structs.replace(message, message_id=str(unique))
        if _store(conn, message, "OUT", partner, case["case_id"], actor):
            _publish(conn, message)
            audit.record(
                conn, case["case_id"], case["declaration_id"], case["version"],
                "PARTNER_RESULT_SENT", actor,
                after={"partner": partner, "message_id": message.message_id,
                       "in_reply_to": request["message_id"], "result": result},
            )  # fmt: skip
            sent.append(message)
    return sent


def share_result(
    conn: psycopg.Connection[Any],
    exchange: Exchange,
    case: Mapping[str, Any],
    examination_id: int,
    result: str,
    examined_at: datetime,
    actor: str,
    answered: frozenset[str] = frozenset(),
) -> list[PartnerMessage]:
    """Send the result of an examination of a DNL or HRCM referral to every partner the
    consignment concerns (they had our risk finding) whose agreement allows it, besides those
    ``answered`` already in reply to their own request."""
    if case.get("origin") == PARTNER_REQUEST or case.get("outcome") not in ("DNL", "HRCM"):
        return []
    _, filing = referral_of(conn, case)
    if filing is None:
        return []
    outcome = ExaminationResult(
        declaration_id=filing.declaration_id,
        version=filing.version,
        result=result,  # type: ignore[arg-type]  # checked by the caller
        examined_at=examined_at,
        officer_ref=actor,
    )
    sent = []
    for agreement in partners_concerned(filing, exchange.agreements, exchange.home):
        if agreement.partner in answered:
            continue
        message = examination_result_message(
            outcome, filing, agreement, home=exchange.home, sent_at=exchange.now()
        )
        if message is None:
            continue  # the agreement keeps this result home
        key = f"{filing.declaration_id}/{filing.version}/{agreement.partner}/{examination_id}"
        message = msgspec.structs.replace(
            message, message_id=str(uuid.uuid5(MESSAGE_NAMESPACE, key))
        )
        if _store(conn, message, "OUT", agreement.partner, case["case_id"], actor):
            _publish(conn, message)
            audit.record(
                conn, case["case_id"], case["declaration_id"], case["version"],
                "PARTNER_RESULT_SENT", actor,
                after={"partner": agreement.partner, "message_id": message.message_id,
                       "result": result},
            )  # fmt: skip
            sent.append(message)
    return sent


def _filing_of_request(request: PartnerMessage) -> Declaration:
    """The consignment as the partner's request describes it, standing in for a filing of ours:
    bound for the requesting partner, under its reference."""
    reference = _ID_CHARACTERS.sub("-", request.declaration_ref)[:64] or "PARTNER-REQUEST"
    return Declaration(
        declaration_id=reference,
        version=1,
        message_type="FILING",
        submitted_at=request.sent_at,
        transport=Transport(routing_countries=[request.from_administration]),
        transport_document=(
            TransportDocument(number=request.transport_document_number)
            if request.transport_document_number
            else None
        ),
        equipment=[Equipment(container_id=c, seals=[]) for c in request.container_ids or []],
        ucr=request.ucr,
    )


# --- receiving ------------------------------------------------------------------------------


def apply_inbound(
    conn: psycopg.Connection[Any],
    exchange: Exchange,
    value: bytes | None,
    position: tuple[str, int, int],
) -> str:
    """Apply one record of a partner's inbound topic; return what it did."""
    topic = position[0]
    agreement = exchange.agreements.by_alias.get(topic.removesuffix(INBOUND_SUFFIX))
    if agreement is None:
        return _refuse("no_agreement", position)
    if value is None:
        return _refuse("invalid", position)
    try:
        message = msgspec.json.decode(value, type=PartnerMessage)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _refuse("invalid", position)
    if message.to_administration != exchange.home:
        # A partner's outbound topic carries its messages to every administration.
        metrics.PARTNER_MESSAGES_REFUSED.labels("not_for_us").inc()
        return "not_for_us"
    if message.from_administration != agreement.partner:
        return _refuse("wrong_sender", position)
    if not agreement.accepts(message.kind):
        return _refuse("kind_not_accepted", position)
    if not agreement.in_force(exchange.now().date()):
        return _refuse("agreement_not_in_force", position)
    if message.kind == "EXAMINATION_REQUEST":
        return _open_request_case(conn, message, agreement)
    if message.kind == "EXAMINATION_RESULT":
        return _attach_result(conn, message)
    return "stored" if _store(conn, message, "IN", message.from_administration) else "duplicate"


def _refuse(reason: str, position: tuple[str, int, int]) -> str:
    metrics.PARTNER_MESSAGES_REFUSED.labels(reason).inc()
    topic, partition, offset = position
    log.warning(
        "partner message refused: %s",
        reason,
        extra={"topic": topic, "partition": partition, "offset": offset, "reason": reason},
    )
    return "refused"


def _open_request_case(
    conn: psycopg.Connection[Any], message: PartnerMessage, agreement: Agreement
) -> str:
    """A partner asks us to examine a consignment before loading: a case of its own, named
    after the partner's declaration, or the open one of an earlier request about it."""
    partner = message.from_administration
    if not _store(conn, message, "IN", partner):
        return "duplicate"
    declaration_id = f"{partner}:{message.declaration_ref}"
    actor = f"partner:{partner}"
    after = {
        "origin": PARTNER_REQUEST,
        "partner": partner,
        "message_id": message.message_id,
        "level": message.level,
        "categories": message.categories,
    }
    row = conn.execute(
        "SELECT case_id, version FROM cases WHERE declaration_id = %s AND status <> 'CLOSED'"
        " FOR UPDATE",
        (declaration_id,),
    ).fetchone()
    if row is not None:
        case_id, version = row
        _link_message(conn, message, case_id)
        audit.record(
            conn, case_id, declaration_id, version, "PARTNER_REQUEST_RECEIVED", actor, after=after
        )
        return "request_attached"
    summary = f"Outbound examination requested by {partner} ({agreement.administration})"
    if message.summary:
        summary += f": {message.summary}"
    inserted = conn.execute(
        "INSERT INTO cases (declaration_id, version, outcome, priority, score, summary,"
        " transport_document, container_ids, assessed_at, origin, partner, ucr)"
        " VALUES (%s, 1, 'HRCM', 2, 0, %s, %s, %s, %s, %s, %s, %s) RETURNING case_id",
        (
            declaration_id,
            summary[:2000],
            message.transport_document_number,
            [c.upper() for c in message.container_ids or []],
            message.sent_at,
            PARTNER_REQUEST,
            partner,
            message.ucr,
        ),
    ).fetchone()
    assert inserted is not None
    _link_message(conn, message, inserted[0])
    audit.record(conn, inserted[0], declaration_id, 1, "OPENED", actor, after=after)
    return "opened"


def _attach_result(conn: psycopg.Connection[Any], message: PartnerMessage) -> str:
    """A partner's result answering our request goes on the case that sent it; else on the
    newest case of the same consignment, if any."""
    partner = message.from_administration
    if not _store(conn, message, "IN", partner):
        return "duplicate"
    row = None
    if message.in_reply_to:
        row = conn.execute(
            "SELECT c.case_id, c.declaration_id, c.version FROM partner_messages m"
            " JOIN cases c ON c.case_id = m.case_id WHERE m.direction = 'OUT'"
            " AND m.message_id = %s AND m.partner = %s",
            (message.in_reply_to, partner),
        ).fetchone()
    if row is None:
        row = conn.execute(
            f"SELECT case_id, declaration_id, version FROM cases WHERE {_SAME_CONSIGNMENT}"
            " ORDER BY case_id DESC LIMIT 1",
            _consignment_of(message),
        ).fetchone()
    if row is None:
        return "unmatched"
    case_id, declaration_id, version = row
    _link_message(conn, message, case_id)
    audit.record(
        conn, case_id, declaration_id, version, "PARTNER_RESULT_RECEIVED", f"partner:{partner}",
        after={"partner": partner, "result": message.result, "message_id": message.message_id,
               "in_reply_to": message.in_reply_to},
    )  # fmt: skip
    return "attached"


# --- the case view --------------------------------------------------------------------------


def case_panel(
    conn: psycopg.Connection[Any], exchange: Exchange | None, case: Mapping[str, Any]
) -> dict[str, Any]:
    """What the case page shows of the exchange with partners."""
    with conn.cursor(row_factory=dict_row) as cur:
        exchanged = cur.execute(
            "SELECT direction, kind, partner, message_id, in_reply_to, payload, actor,"
            " received_at FROM partner_messages WHERE case_id = %s"
            " ORDER BY partner_message_id",
            (case["case_id"],),
        ).fetchall()
        findings = cur.execute(
            "SELECT partner, payload, received_at FROM partner_messages"
            f" WHERE direction = 'IN' AND kind = 'RISK_FINDING' AND {_SAME_CONSIGNMENT}"
            " ORDER BY partner_message_id DESC LIMIT 50",
            {"case": case["case_id"], **_consignment(case)},
        ).fetchall()
    partners: list[str] = []
    if exchange is not None and case["origin"] != PARTNER_REQUEST and case["status"] != "CLOSED":
        hit, filing = referral_of(conn, case)
        partners = request_partners(exchange, hit, filing)
    return {
        "partner_sent": [m for m in exchanged if m["direction"] == "OUT"],
        "partner_requests": [
            m for m in exchanged if m["direction"] == "IN" and m["kind"] == "EXAMINATION_REQUEST"
        ],
        "partner_results": [
            m for m in exchanged if m["direction"] == "IN" and m["kind"] == "EXAMINATION_RESULT"
        ],
        "partner_findings": findings,
        "request_partners": partners,
    }


# --- helpers --------------------------------------------------------------------------------

# The same consignment: the same UCR, transport document or any container (parameters
# `ucr`, `document` and `containers`), in `cases` or in `partner_messages`.
_SAME_CONSIGNMENT = (
    "(((%(ucr)s)::text IS NOT NULL AND ucr = %(ucr)s)"
    " OR ((%(document)s)::text IS NOT NULL AND transport_document = %(document)s)"
    " OR container_ids && (%(containers)s)::text[])"
)


def _consignment(case: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ucr": case.get("ucr"),
        "document": case.get("transport_document"),
        "containers": list(case.get("container_ids") or []),
    }


def _consignment_of(message: PartnerMessage) -> dict[str, Any]:
    return {
        "ucr": message.ucr,
        "document": message.transport_document_number,
        "containers": [c.upper() for c in message.container_ids or []],
    }


def referral_of(
    conn: psycopg.Connection[Any], case: Mapping[str, Any]
) -> tuple[Hit | None, Declaration | None]:
    """The hit and the filing of the case's version, decoded; None for what is missing or no
    longer decodes."""
    row = conn.execute(
        "SELECT hit, declaration FROM referrals WHERE declaration_id = %s AND version = %s",
        (case["declaration_id"], case["version"]),
    ).fetchone()
    if row is None:
        return None, None
    hit = _decoded(row[0], Hit)
    filing = _decoded(row[1], Declaration) if row[1] is not None else None
    return hit, filing


def _decoded(document: Any, kind: type[_T]) -> _T | None:
    try:
        return msgspec.json.decode(orjson.dumps(document), type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError, TypeError):
        return None


def _locked_case(conn: psycopg.Connection[Any], case_id: int) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        case = cur.execute(
            "SELECT * FROM cases WHERE case_id = %s FOR UPDATE", (case_id,)
        ).fetchone()
    if case is None:
        raise PartnerCaseNotFound(f"there is no case {case_id}")
    return case


def _store(
    conn: psycopg.Connection[Any],
    message: PartnerMessage,
    direction: str,
    partner: str,
    case_id: int | None = None,
    actor: str = audit.SYSTEM,
) -> bool:
    """Keep the message; False when one with its id was already kept (a repeat)."""
    row = conn.execute(
        "INSERT INTO partner_messages (message_id, direction, kind, partner, ucr,"
        " transport_document, container_ids, in_reply_to, payload, case_id, actor)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (direction, message_id) DO NOTHING RETURNING partner_message_id",
        (
            message.message_id,
            direction,
            message.kind,
            partner,
            message.ucr,
            message.transport_document_number,
            [c.upper() for c in message.container_ids or []],
            message.in_reply_to,
            Jsonb(msgspec.to_builtins(message)),
            case_id,
            actor,
        ),
    ).fetchone()
    return row is not None


def _link_message(conn: psycopg.Connection[Any], message: PartnerMessage, case_id: int) -> None:
    conn.execute(
        "UPDATE partner_messages SET case_id = %s WHERE direction = 'IN' AND message_id = %s",
        (case_id, message.message_id),
    )


def _publish(conn: psycopg.Connection[Any], message: PartnerMessage) -> None:
    audit.enqueue(
        conn, topics.C2C_OUTBOUND, message_key(message).encode(), msgspec.json.encode(message)
    )
