"""A partner administration's messages, applied when they are valid, come from a partner
with an agreement, are addressed to us and are of a kind the agreement accepts; any other is
counted and logged without its payload. A request opens a case of its own; a result joins the
case that asked, or the newest case of the same consignment."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import psycopg

from pipeline.c2c.agreements import Agreement
from pipeline.contract.models import (
    PartnerMessage,
)
from pipeline.workbench import audit, metrics, partners

log = logging.getLogger(__name__)


def apply_inbound(
    conn: psycopg.Connection[Any],
    exchange: partners.Exchange,
    value: bytes | None,
    position: tuple[str, int, int],
) -> str:
    """Apply one record of a partner's inbound topic; return what it did."""
    topic = position[0]
    agreement = exchange.agreements.by_alias.get(topic.removesuffix(partners.INBOUND_SUFFIX))
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
    return (
        "stored"
        if partners.store(conn, message, "IN", message.from_administration)
        else "duplicate"
    )


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
    if not partners.store(conn, message, "IN", partner):
        return "duplicate"
    declaration_id = f"{partner}:{message.declaration_ref}"
    actor = f"partner:{partner}"
    after = {
        "origin": partners.PARTNER_REQUEST,
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
        partners.link_message(conn, message, case_id)
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
            partners.PARTNER_REQUEST,
            partner,
            message.ucr,
        ),
    ).fetchone()
    assert inserted is not None
    partners.link_message(conn, message, inserted[0])
    audit.record(conn, inserted[0], declaration_id, 1, "OPENED", actor, after=after)
    return "opened"


def _attach_result(conn: psycopg.Connection[Any], message: PartnerMessage) -> str:
    """A partner's result answering our request goes on the case that sent it; else on the
    newest case of the same consignment, if any."""
    partner = message.from_administration
    if not partners.store(conn, message, "IN", partner):
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
            f"SELECT case_id, declaration_id, version FROM cases WHERE {partners.SAME_CONSIGNMENT}"
            " ORDER BY case_id DESC LIMIT 1",
            partners.consignment_of(message),
        ).fetchone()
    if row is None:
        return "unmatched"
    case_id, declaration_id, version = row
    partners.link_message(conn, message, case_id)
    audit.record(
        conn, case_id, declaration_id, version, "PARTNER_RESULT_RECEIVED", f"partner:{partner}",
        after={"partner": partner, "result": message.result, "message_id": message.message_id,
               "in_reply_to": message.in_reply_to},
    )  # fmt: skip
    return "attached"
