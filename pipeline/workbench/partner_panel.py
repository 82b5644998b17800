"""What the case page shows of the exchange with partner administrations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pipeline.workbench import partner_outbound, partners


def case_panel(
    conn: psycopg.Connection[Any], exchange: partners.Exchange | None, case: Mapping[str, Any]
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
            f" WHERE direction = 'IN' AND kind = 'RISK_FINDING' AND {partners.SAME_CONSIGNMENT}"
            " ORDER BY partner_message_id DESC LIMIT 50",
            {"case": case["case_id"], **partners.consignment(case)},
        ).fetchall()
    may_ask: list[str] = []
    if (
        exchange is not None
        and case["origin"] != partners.PARTNER_REQUEST
        and case["status"] != "CLOSED"
    ):
        hit, filing = partners.referral_of(conn, case)
        may_ask = partner_outbound.request_partners(exchange, hit, filing)
    return {
        "partner_sent": [m for m in exchanged if m["direction"] == "OUT"],
        "partner_requests": [
            m for m in exchanged if m["direction"] == "IN" and m["kind"] == "EXAMINATION_REQUEST"
        ],
        "partner_results": [
            m for m in exchanged if m["direction"] == "IN" and m["kind"] == "EXAMINATION_RESULT"
        ],
        "partner_findings": findings,
        "request_partners": may_ask,
    }
