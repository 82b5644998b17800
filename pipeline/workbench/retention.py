"""Closed cases are kept for the retention setting (seven years by default), then deleted with
everything that hangs off them. A case a clearance in force still rests on is kept until the
clearance has ended."""

from __future__ import annotations

import logging
from typing import Any

import psycopg

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 3600.0
_BATCH = 1000


def purge_expired(conn: psycopg.Connection[Any]) -> int:
    """Delete the cases whose retention has run out; return how many."""
    purged = 0
    while True:
        with conn.transaction():
            rows = conn.execute(
                "SELECT case_id, declaration_id FROM cases c"
                " WHERE retain_until < now() AND NOT EXISTS ("
                "   SELECT 1 FROM clearances k WHERE k.case_id = c.case_id"
                "   AND k.lifted_at IS NULL AND k.expires_on >= current_date)"
                " ORDER BY case_id LIMIT %s FOR UPDATE SKIP LOCKED",
                (_BATCH,),
            ).fetchall()
            if not rows:
                return purged
            ids = [row[0] for row in rows]
            for table in (
                "case_events",
                "examinations",
                "clearances",
                "case_parties",
                "referrals",
                "referral_responses",
                "partner_messages",
            ):
                conn.execute(f"DELETE FROM {table} WHERE case_id = ANY(%s)", (ids,))
            conn.execute("DELETE FROM cases WHERE case_id = ANY(%s)", (ids,))
            # A declaration's assessments go with its last case.
            conn.execute(
                "DELETE FROM assessments a WHERE a.declaration_id = ANY(%s)"
                " AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.declaration_id = a.declaration_id)",
                ([row[1] for row in rows],),
            )
            purged += len(ids)


def sweep(conn: psycopg.Connection[Any]) -> None:
    """The periodic job: purge, and say how many went."""
    purged = purge_expired(conn)
    if purged:
        log.info("retention: %d closed cases past their retention deleted", purged)
