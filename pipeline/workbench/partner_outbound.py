"""Examination requests and results we send to partner administrations.

Officers send an EXAMINATION_REQUEST from a case; an examination recorded on a case answers
every partner that asked about the consignment, and is shared with every partner the
consignment concerns when the referral was DNL or HRCM. Every message is built by
``pipeline.c2c.outbound`` under the partner's sharing agreement.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg.rows import dict_row

from pipeline.c2c.agreements import Agreement
from pipeline.c2c.outbound import (
    MESSAGE_NAMESPACE,
    countries_of,
    examination_request_message,
    examination_result_message,
    partners_concerned,
)
from pipeline.contract.models import (
    Declaration,
    ExaminationResult,
    Hit,
    PartnerMessage,
)
from pipeline.workbench import audit, partners

__all__ = ["check_request", "send_request"]


def request_partners(
    exchange: partners.Exchange, hit: Hit | None, filing: Declaration | None
) -> list[str]:
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
    exchange: partners.Exchange,
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
    if len(reason) > partners.MAX_REASON:
        raise partners.PartnerRefused(f"a reason has at most {partners.MAX_REASON} characters")
    with conn.transaction():
        case = partners.locked_case(conn, case_id)
        if revision is not None and case["revision"] != revision:
            raise partners.PartnerConflict("the case changed since you opened it: look at it again")
        if case["status"] == "CLOSED":
            raise partners.PartnerRefused("the case is closed")
        if case["origin"] == partners.PARTNER_REQUEST:
            raise partners.PartnerRefused(
                "this case is a partner's request: record the examination"
            )
        hit, filing = partners.referral_of(conn, case)
        if hit is None or filing is None:
            raise partners.PartnerRefused("the referral carries no filing: nothing can be sent")
        now = exchange.now()
        agreement = exchange.agreements.by_partner.get(partner)
        check_request(agreement, partner, filing, exchange.home, now)
        assert agreement is not None
        message = examination_request_message(
            hit, filing, agreement, home=exchange.home, sent_at=now,
            tags_by_rule=exchange.tags_by_rule,
        )  # fmt: skip
        if message is None:
            terms = agreement.terms("EXAMINATION_REQUEST")
            assert terms is not None
            raise partners.PartnerRefused(
                f"the agreement with {partner} covers examination requests at level"
                f" {', '.join(sorted(terms.levels))} in {', '.join(sorted(terms.categories))}"
                " only: this referral is outside it; nothing was sent"
            )
        if not partners.store(conn, message, "OUT", partner, case_id, actor):
            raise partners.PartnerConflict(
                f"an examination request for version {case['version']} was already sent to"
                f" {partner}"
            )
        partners.publish(conn, message)
        audit.record(
            conn, case_id, case["declaration_id"], case["version"], "PARTNER_REQUEST_SENT",
            actor, after={"partner": partner, "message_id": message.message_id,
                          "level": message.level, "categories": message.categories},
            note=reason or None,
        )  # fmt: skip
        return message


def check_request(
    agreement: Agreement | None, partner: str, filing: Declaration, home: str, now: datetime
) -> None:
    if agreement is None:
        raise partners.PartnerRefused(
            f"there is no sharing agreement with {partner}: nothing was sent"
        )
    if agreement.terms("EXAMINATION_REQUEST") is None:
        raise partners.PartnerRefused(
            f"the agreement with {partner} does not allow examination requests: nothing was sent"
        )
    if not agreement.in_force(now.date()):
        raise partners.PartnerRefused(
            f"the agreement with {partner} is not in force: nothing was sent"
        )
    if partner == home or partner not in countries_of(filing):
        raise partners.PartnerRefused(
            f"the consignment does not concern {partner} (not loaded, routed through,"
            " originating or discharged there): nothing was sent"
        )


def answer_requests(
    conn: psycopg.Connection[Any],
    exchange: partners.Exchange,
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
            f" OR {partners.SAME_CONSIGNMENT}) ORDER BY partner, partner_message_id DESC",
            {"case": case["case_id"], **partners.consignment(case)},
        ).fetchall()
    if not requests:
        return []
    _, own_filing = partners.referral_of(conn, case)
    sent = []
    for request in requests:
        partner = request["partner"]
        asked = msgspec.convert(request["payload"], type=PartnerMessage, strict=False)
        filing = own_filing or partners.filing_of_request(asked)
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
        shared = _send_result(
            conn, case, message, f"{request['message_id']}/{examination_id}", actor,
            {"in_reply_to": request["message_id"], "result": result},
        )  # fmt: skip
        if shared is not None:
            sent.append(shared)
    return sent


def share_result(
    conn: psycopg.Connection[Any],
    exchange: partners.Exchange,
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
    if case.get("origin") == partners.PARTNER_REQUEST or case.get("outcome") not in ("DNL", "HRCM"):
        return []
    _, filing = partners.referral_of(conn, case)
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
        shared = _send_result(conn, case, message, key, actor, {"result": result})
        if shared is not None:
            sent.append(shared)
    return sent


def _send_result(
    conn: psycopg.Connection[Any],
    case: Mapping[str, Any],
    message: PartnerMessage,
    key: str,
    actor: str,
    after: Mapping[str, Any],
) -> PartnerMessage | None:
    """Keep, publish and put on the timeline a result under the id ``key`` names; the message
    sent, or None when one with that id was sent before."""
    message = msgspec.structs.replace(message, message_id=str(uuid.uuid5(MESSAGE_NAMESPACE, key)))
    partner = message.to_administration
    if not partners.store(conn, message, "OUT", partner, case["case_id"], actor):
        return None
    partners.publish(conn, message)
    audit.record(
        conn, case["case_id"], case["declaration_id"], case["version"],
        "PARTNER_RESULT_SENT", actor,
        after={"partner": partner, "message_id": message.message_id, **after},
    )  # fmt: skip
    return message
