"""PostgreSQL for the tests: a server of the session's own, started by
deploy/postgres/postgres.sh on a free port with data of its own, or the server that
SCREENING_TEST_DATABASE_URL names; and a fresh, empty database per test on it.

The fixtures that use this (``postgres``, ``database_url``) are in conftest.py.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_SCRIPT = ROOT / "deploy" / "postgres" / "postgres.sh"
GIVEN_URL_VARIABLE = "SCREENING_TEST_DATABASE_URL"
CONNECT_TIMEOUT_S = 10


@dataclass(frozen=True)
class PostgresServer:
    """A PostgreSQL server the tests make their databases on.

    ``url`` is a libpq URL of a database whose role may create databases (CREATEDB); ``env``
    is the environment deploy/postgres/postgres.sh runs with for this server, or None for a
    server the session was given rather than started.
    """

    url: str
    env: dict[str, str] | None = None

    @classmethod
    def given(cls, url: str) -> PostgresServer:
        """The server of a URL given from outside; ValueError unless it is a libpq URL."""
        if urlsplit(url).scheme not in ("postgresql", "postgres"):
            raise ValueError(
                f"{GIVEN_URL_VARIABLE} must be a URL such as "
                "postgresql://user@host:5432/database, whose role may create databases"
            )
        return cls(url)

    def script(self, command: str) -> subprocess.CompletedProcess[str]:
        """Run deploy/postgres/postgres.sh ``command`` for this server; its result, unchecked."""
        if self.env is None:
            raise RuntimeError(f"this server was given by {GIVEN_URL_VARIABLE}, not started")
        return subprocess.run(
            [str(POSTGRES_SCRIPT), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    def database_url(self, name: str) -> str:
        """The URL of the database ``name`` on this server, as the same role."""
        return urlsplit(self.url)._replace(path=f"/{name}").geturl()

    def create_database(self) -> str:
        """A new, empty database of a unique name; its URL."""
        name = f"test_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            # From template0: nothing another test or an extension put in template1 comes along.
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                    sql.Identifier(name)
                )
            )
        return self.database_url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url``, ending the sessions still connected to it first
        (a pool or a server process the test left running); nothing if it is gone already.

        Only the role's own sessions are ended here. ``WITH (FORCE)`` would also signal an
        autovacuum worker busy on the database, which a role without pg_signal_backend may
        not do; a plain DROP stops such a worker itself."""
        name = urlsplit(url).path.lstrip("/")
        database = sql.Identifier(name)
        with psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return
            # Closed to new sessions first: a pool left running cannot reconnect in between.
            conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(database))
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND usename = current_user",
                (name,),
            )
            # A plain DROP waits a few seconds for the ended sessions to exit.
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(database))

    @contextmanager
    def fresh_database(self) -> Iterator[str]:
        """A new, empty database for the ``with`` block; dropped when it ends."""
        url = self.create_database()
        try:
            yield url
        finally:
            self.drop_database(url)


def data_dir(workdir: Path, port: int) -> Path:
    """Where the server of ``port`` keeps its data.

    As root, the server runs as the ``postgres`` user, who cannot reach pytest's folders
    (root's, mode 700): a folder under /tmp that does not exist yet, which the script creates
    for that user and ``reset`` removes. Otherwise a folder in ``workdir``.
    """
    if os.geteuid() == 0:
        return Path("/tmp") / f"screening-test-postgres-{port}-{uuid.uuid4().hex[:8]}"
    return workdir / "data"


@contextmanager
def started_server(workdir: Path, port: int) -> Iterator[PostgresServer]:
    """A PostgreSQL server of its own on ``port``, started by deploy/postgres/postgres.sh;
    stopped and its data deleted when the ``with`` block ends."""
    env = {**os.environ, "PG_PORT": str(port), "PG_DATA_DIR": str(data_dir(workdir, port))}
    subprocess.run([str(POSTGRES_SCRIPT), "start"], env=env, check=True, timeout=180)
    try:
        url = subprocess.run(
            [str(POSTGRES_SCRIPT), "url"], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        yield PostgresServer(url, env)
    finally:
        subprocess.run([str(POSTGRES_SCRIPT), "reset"], env=env, check=False, timeout=180)
