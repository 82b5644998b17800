"""The PostgreSQL the workbench's tests stand on: deploy/postgres/postgres.sh, the session's
server and the fresh database each test gets."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.integration.conftest import _free_port
from tests.integration.postgres import PostgresServer, started_server

pytestmark = pytest.mark.integration


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _exists(server: PostgresServer, name: str) -> bool:
    with psycopg.connect(server.url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name]).fetchone()
    assert row is not None
    return bool(row[0])


def test_a_fresh_database_is_empty_and_usable(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT current_database(), pg_encoding_to_char(encoding)"
            " FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        assert row is not None
        name, encoding = row
        assert name == _database_name(database_url)
        assert name.startswith("test_")
        assert encoding == "UTF8"
        relations = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg_toast%'"
        ).fetchone()
        assert relations == (0,)
        # Its role owns it: the workbench's migrations create tables in the public schema.
        conn.execute("CREATE TABLE cases (id bigint PRIMARY KEY, note text NOT NULL)")
        conn.execute("INSERT INTO cases VALUES (1, %s)", ["Überprüfung: 検査"])
        conn.commit()
        assert conn.execute("SELECT upper(note) FROM cases").fetchone() == ("ÜBERPRÜFUNG: 検査",)


def test_each_test_gets_its_own_database_dropped_even_while_connected(
    postgres: PostgresServer, database_url: str
) -> None:
    with postgres.fresh_database() as other:
        assert _database_name(other) != _database_name(database_url)
        left_open = psycopg.connect(other)
        left_open.execute("CREATE TABLE t (x int)")
        left_open.commit()
    # Dropped with the session still open: the session was ended first.
    assert not _exists(postgres, _database_name(other))
    with pytest.raises(psycopg.OperationalError):
        left_open.execute("SELECT 1")
    left_open.close()
    assert _exists(postgres, _database_name(database_url))


def _started(postgres: PostgresServer) -> dict[str, str]:
    if postgres.env is None:
        pytest.skip("the server was given by SCREENING_TEST_DATABASE_URL, not started")
    return postgres.env


def test_the_script_reports_status_and_url(postgres: PostgresServer) -> None:
    env = _started(postgres)
    status = postgres.script("status")
    assert status.returncode == 0, status.stderr
    assert f"running on 127.0.0.1:{env['PG_PORT']}" in status.stderr
    url = postgres.script("url")
    assert url.returncode == 0, url.stderr
    assert url.stdout == f"postgresql://screening@127.0.0.1:{env['PG_PORT']}/screening\n"
    with psycopg.connect(url.stdout.strip()) as conn:
        row = conn.execute(
            "SELECT current_user, current_database(), current_setting('listen_addresses')"
        ).fetchone()
    assert row == ("screening", "screening", "127.0.0.1")


def test_the_script_starts_once_and_stops(tmp_path: Path) -> None:
    with started_server(tmp_path, _free_port()) as server:
        again = server.script("start")
        assert again.returncode == 0, again.stderr
        assert "already running" in again.stderr
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        stopped = server.script("stop")
        assert stopped.returncode == 0, stopped.stderr
        status = server.script("status")
        assert status.returncode == 1
        assert "not running" in status.stderr
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.url, connect_timeout=5)
        assert server.script("stop").returncode == 0  # stopping a stopped server is no error
        # The cluster is kept: started again, the role and the database are there.
        restarted = server.script("start")
        assert restarted.returncode == 0, restarted.stderr
        assert "creating the cluster" not in restarted.stderr
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("screening",)
    assert server.env is not None
    assert not Path(server.env["PG_DATA_DIR"]).exists(), "reset deletes the data"
