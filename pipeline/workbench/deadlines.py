"""Referrals whose answer is overdue are escalated: to the top of the worklist, with an audit
event and a count in the metrics.

A referral is overdue when no response has come and its loading time has passed, or, for an
RFI, when the time given to answer it (``SCREENING_WORKBENCH_RFI_ANSWER_S``) has run out since
the case opened.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg

from pipeline.workbench import audit, metrics

CHECK_EVERY_S = 30.0


def escalate_overdue(conn: psycopg.Connection[Any], rfi_answer: timedelta) -> int:
    """Escalate every overdue open referral; return how many were escalated now."""
    with conn.transaction():
        rows = conn.execute(
            # The revision stays: an escalation changes the order of the worklist, not what an
            # officer decides on.
            "UPDATE cases SET escalated_at = now(), escalation = 'DEADLINE', updated_at = now()"
            " WHERE status <> 'CLOSED' AND escalated_at IS NULL AND responded_at IS NULL"
            " AND (estimated_loading_at < now()"
            "      OR (outcome = 'RFI' AND opened_at + %s < now()))"
            " RETURNING case_id, declaration_id, version, outcome, estimated_loading_at",
            (rfi_answer,),
        ).fetchall()
        for case_id, declaration_id, version, outcome, loading_at in rows:
            audit.record(
                conn, case_id, declaration_id, version, "ESCALATED", audit.SYSTEM,
                after={"escalation": "DEADLINE"},
                note="No response from the filer before loading."
                if loading_at is not None and outcome != "RFI"
                else "No response from the filer in the time given.",
            )  # fmt: skip
            metrics.DEADLINES_MISSED.labels(outcome).inc()
    overdue = conn.execute(
        "SELECT outcome, count(*) FROM cases WHERE status <> 'CLOSED' AND escalation = 'DEADLINE'"
        " GROUP BY outcome"
    ).fetchall()
    counts = dict(overdue)
    for outcome in ("RFI", "HRCM", "DNL"):
        metrics.OVERDUE_REFERRALS.labels(outcome).set(counts.get(outcome, 0))
    return len(rows)
