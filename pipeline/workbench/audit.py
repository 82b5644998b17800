"""The audit trail: every change to a case, in the database and on ``customs.case.events.v1``.

An event is written in the transaction of the change it reports, with its Kafka record in the
outbox of the same transaction: the change, its audit row and its publication stand or fall
together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from pipeline import topics

SYSTEM = "system"  # the actor of changes that come from Kafka, not from an officer


def record(
    conn: psycopg.Connection[Any],
    case_id: int,
    declaration_id: str,
    version: int,
    kind: str,
    actor: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> int:
    """Append one event to the case's trail and queue it for Kafka; return its id."""
    row = conn.execute(
        "INSERT INTO case_events (case_id, actor, kind, before, after, note)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING event_id, at",
        (case_id, actor, kind, _json(before), _json(after), note),
    ).fetchone()
    assert row is not None
    event_id, at = row[0], row[1]
    event = {
        "event_id": event_id,
        "case_id": str(case_id),
        "declaration_id": declaration_id,
        "version": version,
        "kind": kind,
        "actor": actor,
        "at": _rfc3339(at),
        "before": before,
        "after": after,
        "note": note,
    }
    enqueue(conn, topics.CASE_EVENTS, str(case_id).encode(), orjson.dumps(event))
    return int(event_id)


def enqueue(conn: psycopg.Connection[Any], topic: str, key: bytes, value: bytes | None) -> None:
    """Queue a record for the publisher, inside the caller's transaction."""
    conn.execute("INSERT INTO outbox (topic, key, value) VALUES (%s, %s, %s)", (topic, key, value))


def _json(value: dict[str, Any] | None) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
