"""A real `screening workbench` process for the tests: on the session's broker, on a fresh
database of the test's own, with the demo accounts.

By default the workbench starts where the topics end, as one that has run all along would: its
database is given the topics' end offsets before it starts. Otherwise each test's workbench
would first take in everything the session's earlier tests published, a quarter of a minute
late in a session, and a test sees only what it publishes anyway. ``from_the_start`` reads
every topic from its beginning, as a new installation does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from load_tests.topic_stats import end_offsets
from pipeline.kafka.admin import admin_client, existing_partitions
from pipeline.settings import Settings
from pipeline.workbench import partners
from pipeline.workbench.ingest import INGESTED_TOPICS
from pipeline.workbench.migrations import migrate

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "demo-password-for-tests"
READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WorkbenchProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int
    database_url: str
    group: str
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last commit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(sql.encode(), params).fetchall()

    def wait_for(
        self,
        sql: str,
        params: tuple[Any, ...] = (),
        until: Callable[[list[tuple[Any, ...]]], bool] = bool,
        timeout_s: float = 60.0,
    ) -> list[tuple[Any, ...]]:
        """Poll a query until ``until`` holds for its rows; fail with the last rows if not."""
        deadline = time.monotonic() + timeout_s
        rows: list[tuple[Any, ...]] = []
        while time.monotonic() < deadline:
            rows = self.query(sql, params)
            if until(rows):
                return rows
            time.sleep(0.2)
        pytest.fail(f"not within {timeout_s} s: {sql} {params} -> {rows}\n{self.log()[-3000:]}")


def spawn_workbench(
    settings: Settings,
    database_url: str,
    workdir: Path,
    group: str | None = None,
    extra_env: dict[str, str] | None = None,
    log_name: str = "workbench.log",
    from_the_start: bool = False,
) -> WorkbenchProcess:
    port = free_port()
    group = group or f"workbench-test-{uuid.uuid4().hex[:8]}"
    if not from_the_start:
        start_at_the_ends(settings, database_url, group)
    env = {
        **os.environ,
        "SCREENING_KAFKA_BOOTSTRAP": settings.kafka.servers,
        "SCREENING_PARTITIONS": str(settings.topics.partitions),
        "SCREENING_DATABASE_URL": database_url,
        "SCREENING_WORKBENCH_PORT": str(port),
        "SCREENING_WORKBENCH_GROUP": group,
        "SCREENING_DEMO_PASSWORD": DEMO_PASSWORD,
        **(extra_env or {}),
    }
    log_path = workdir / log_name
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "workbench", "--demo-accounts"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    bench = WorkbenchProcess(process, log_path, port, database_url, group, env)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"workbench exited with {process.returncode}:\n{bench.log()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{bench.url}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return bench
        except OSError:
            pass
        time.sleep(0.2)
    bench.stop()
    pytest.fail(f"workbench not ready in {READY_TIMEOUT_S} s:\n{bench.log()[-3000:]}")


def start_at_the_ends(settings: Settings, database_url: str, group: str) -> None:
    """Give ``group`` the end of every topic the workbench reads (the ingested topics and the
    partners' topics) as its next offsets, in the database where it keeps them; a database
    that holds offsets of the group keeps its own."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        migrate(conn)
        if conn.execute("SELECT 1 FROM kafka_offsets WHERE consumer = %s", (group,)).fetchone():
            return
        read = [
            topic
            for topic in existing_partitions(admin_client(settings.kafka))
            if topic in INGESTED_TOPICS or partners.is_inbound_topic(topic)
        ]
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO kafka_offsets (consumer, topic, partition, next_offset)"
                " VALUES (%s, %s, %s, %s)",
                [
                    (group, topic, partition, offset)
                    for topic in read
                    for partition, offset in end_offsets(settings, topic).items()
                ],
            )
