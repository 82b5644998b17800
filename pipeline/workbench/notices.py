"""Notices the workbench sends filers: an officer's decision on a referral, and the refusal of
a response. Queued in the outbox of the transaction that made the decision.

A notice says what to do and by when, never why the cargo was selected: no rule, score,
watch-list entry or officer's note goes into it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from pipeline import topics
from pipeline.workbench import audit

_NAMESPACE = uuid.UUID("0f6b1f4e-7f4e-4c55-9d7a-3f1d0f0c2a11")

# What the filer is told of each closing disposition: the kind of notice and its text.
DECISIONS: dict[str, tuple[str, str]] = {
    "RELEASED": (
        "REFERRAL_CLOSED",
        "Customs has completed its review of declaration {d} version {v}. The consignment "
        "may be loaded.",
    ),
    "FALSE_POSITIVE": (
        "REFERRAL_CLOSED",
        "Customs has completed its review of declaration {d} version {v}. The consignment "
        "may be loaded.",
    ),
    "EXAMINATION_ORDERED": (
        "DNL",
        "Do not load the consignment of declaration {d} version {v}: customs will examine it. "
        "Keep it available and contact the customs office to arrange the examination; load "
        "it only after customs releases it.",
    ),
    "CONFIRMED_RISK": (
        "DNL",
        "Do not load the consignment of declaration {d} version {v}. Hold it where it is and "
        "follow the instructions of the customs office.",
    ),
}


def decision(
    conn: psycopg.Connection[Any],
    case: dict[str, Any],
    disposition: str,
    event_id: int,
) -> None:
    """Tell the filer what an officer decided, when the case knows who filed it."""
    if disposition not in DECISIONS or not case.get("filer_id"):
        return
    kind, text = DECISIONS[disposition]
    send(
        conn,
        filer_id=case["filer_id"],
        declaration_id=case["declaration_id"],
        version=case["version"],
        kind=kind,
        text=text.format(d=case["declaration_id"], v=case["version"]),
        identity=f"decision:{case['case_id']}:{event_id}",
    )


def send(
    conn: psycopg.Connection[Any],
    *,
    filer_id: str,
    declaration_id: str,
    version: int,
    kind: str,
    text: str,
    identity: str,
    errors: list[dict[str, str]] | None = None,
) -> None:
    """Queue one notice; ``identity`` makes its id, the same however often it is queued."""
    notice: dict[str, Any] = {
        "filer_id": filer_id,
        "declaration_id": declaration_id,
        "version": version,
        "kind": kind,
        "notice_id": str(uuid.uuid5(_NAMESPACE, identity)),
        "issued_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "text": text,
    }
    if errors is not None:
        notice["errors"] = errors
    audit.enqueue(conn, topics.FILER_NOTICES, filer_id.encode(), orjson.dumps(notice))
