"""Schema migrations: the SQL files of ``migrations/``, applied in order, each exactly once.

Each file runs in its own transaction together with the row that records it, so a failed
migration leaves nothing half applied. An advisory lock keeps two workbenches starting at the
same moment from applying the same file twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from pipeline.errors import ConfigurationError

__all__ = ["available", "migrate"]

_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Any constant shared by every workbench of one database: the lock is per database.
_LOCK_ID = 0x5C2EE9


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def available() -> list[Migration]:
    """The migrations shipped with the package, in order."""
    found = []
    for item in resources.files("pipeline.workbench").joinpath("migrations").iterdir():
        match = _FILE.match(item.name)
        if match:
            found.append(Migration(int(match.group(1)), item.name, item.read_text("utf-8")))
    found.sort(key=lambda m: m.number)
    numbers = [m.number for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise ConfigurationError(f"migrations are not numbered 1..n without gaps: {numbers}")
    return found


def migrate(conn: psycopg.Connection[object]) -> list[str]:
    """Apply every migration not applied yet; return the names of those applied now."""
    conn.autocommit = True
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " number integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        rows = conn.execute("SELECT number FROM schema_migrations").fetchall()
        done = {int(row[0]) for row in rows}  # type: ignore[index]
        applied = []
        for migration in available():
            if migration.number in done:
                continue
            with conn.transaction():
                conn.execute(migration.sql.encode("utf-8"))
                conn.execute(
                    "INSERT INTO schema_migrations (number, name) VALUES (%s, %s)",
                    (migration.number, migration.name),
                )
            applied.append(migration.name)
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
