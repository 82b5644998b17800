"""Fixtures for tests through the real Kafka broker that the project starts itself.

The session starts its own broker (deploy/kafka/kafka.sh, on ports apart from `make run`'s)
unless SCREENING_TEST_BOOTSTRAP names one, creates the topics, and runs one real
`screening worker` process. Tests keep apart by a unique declaration-id prefix each.

Tests of the workbench also get PostgreSQL: a server for the session (tests/integration/
postgres.py) and a fresh, empty database per test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.producer import producer_config
from pipeline.kafka.reader import TopicReader
from pipeline.records import InputRecord
from pipeline.settings import Settings
from tests.integration.postgres import PostgresServer, started_server
from tests.integration.workbench import WorkbenchProcess, spawn_workbench

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SCRIPT = ROOT / "deploy" / "kafka" / "kafka.sh"
TEST_PARTITIONS = 4
WORKER_READY_TIMEOUT_S = 90.0

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("SCREENING_TEST_BOOTSTRAP")
    if given:
        yield given
        return
    port, controller_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller_port),
        "KAFKA_DATA_DIR": str(tmp_path_factory.mktemp("kafka")),
    }
    subprocess.run([str(KAFKA_SCRIPT), "start"], env=env, check=True, timeout=300)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(KAFKA_SCRIPT), "stop"], env=env, check=False, timeout=120)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session: its own (deploy/postgres/postgres.sh on a free port,
    with data of its own, deleted at the end) unless SCREENING_TEST_DATABASE_URL names one,
    whose role must be allowed to create databases."""
    given = os.environ.get("SCREENING_TEST_DATABASE_URL")
    if given:
        yield PostgresServer.given(given)
        return
    with started_server(tmp_path_factory.mktemp("postgres"), _free_port()) as server:
        yield server


@pytest.fixture
def database_url(postgres: PostgresServer) -> Iterator[str]:
    """The libpq URL of a fresh, empty database of this test's own; dropped when the test ends,
    sessions still connected to it ended first."""
    with postgres.fresh_database() as url:
        yield url


@pytest.fixture
def workbenches(settings: Settings) -> Iterator[list[WorkbenchProcess]]:
    """Every workbench a test starts with ``spawn_workbench``; stopped when the test ends."""
    started: list[WorkbenchProcess] = []
    yield started
    for bench in started:
        bench.stop()


@pytest.fixture
def workbench(
    settings: Settings,
    database_url: str,
    tmp_path: Path,
    workbenches: list[WorkbenchProcess],
) -> WorkbenchProcess:
    """A `screening workbench` of its own consumer group on a fresh database."""
    bench = spawn_workbench(settings, database_url, tmp_path)
    workbenches.append(bench)
    return bench


@pytest.fixture(scope="session")
def settings(bootstrap: str) -> Settings:
    settings = Settings(kafka_bootstrap=bootstrap, partitions=TEST_PARTITIONS)
    ensure_topics(settings)
    return settings


@pytest.fixture(scope="session")
def worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One real worker process for the session; yields the path of its log."""
    with start_worker(settings, tmp_path_factory.mktemp("worker")) as log_path:
        yield log_path


@dataclass
class WorkerProcess:
    """A running `screening worker`: its process, its log and its HTTP port."""

    process: subprocess.Popen[bytes]
    log_path: Path
    web_port: int

    def stop(self) -> None:
        """SIGTERM, as a supervisor stops it; SIGKILL if it has not exited within 30 s."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def spawn_worker(
    settings: Settings,
    workdir: Path,
    offset_reset: str = "earliest",
    app_id: str | None = None,
    log_name: str = "worker.log",
    extra_env: dict[str, str] | None = None,
) -> WorkerProcess:
    """Start a `screening worker` and wait until it is ready. Workers given the same
    ``app_id`` share one consumer group; by default each gets a group of its own."""
    log_path = workdir / log_name
    web_port = _free_port()
    env = {
        **os.environ,
        "SCREENING_KAFKA_BOOTSTRAP": settings.kafka.servers,
        "SCREENING_PARTITIONS": str(TEST_PARTITIONS),
        "SCREENING_APP_ID": app_id or f"screening-test-{uuid.uuid4().hex[:8]}",
        "SCREENING_WEB_PORT": str(web_port),
        "SCREENING_DATA_DIR": str(workdir / "state"),
        "SCREENING_BATCH_WITHIN_S": "0.02",
        "SCREENING_CONSUMER_OFFSET_RESET": offset_reset,
        "SCREENING_RANDOM_SELECTION_SHARE": "0",
        **(extra_env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process, log_path, web_port)
    try:
        _wait_ready(process, log_path)
    except BaseException:
        worker.stop()
        raise
    return worker


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """Every worker a test starts with ``spawn_worker``; those still running are stopped when
    it ends."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


@contextmanager
def start_worker(
    settings: Settings, workdir: Path, offset_reset: str = "earliest"
) -> Iterator[Path]:
    """A `screening worker` process of its own consumer group, ready to screen."""
    worker = spawn_worker(settings, workdir, offset_reset)
    try:
        yield worker.log_path
    finally:
        worker.stop()


def _wait_ready(process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + WORKER_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"worker exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        if b"[^Worker]: Ready" in log_path.read_bytes():
            return
        time.sleep(0.2)
    pytest.fail(f"worker not ready in {WORKER_READY_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")


@pytest.fixture
def run_id() -> str:
    """A prefix that keeps this test's declarations apart from every other test's."""
    return f"IT-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def producer(settings: Settings) -> Iterator[Producer]:
    producer = Producer(producer_config(settings.kafka))
    yield producer
    producer.flush(30)


def publish(producer: Producer, messages: list[tuple[bytes | None, bytes | None]]) -> None:
    from pipeline import topics

    for key, value in messages:
        producer.produce(topics.DECLARATIONS, value, key)
    assert producer.flush(30) == 0


def collect(
    settings: Settings,
    topic: str,
    belongs: object,
    expected: int,
    timeout_s: float = 60.0,
    settle_s: float = 2.0,
) -> list[InputRecord]:
    """Read ``topic`` from the start until ``expected`` records for which ``belongs(record)`` is
    true have arrived, then a little longer, so that extra records would be seen too."""
    assert callable(belongs)
    reader = TopicReader(settings.kafka, topic)
    found: list[InputRecord] = []
    deadline = time.monotonic() + timeout_s
    settle_until: float | None = None
    try:
        while time.monotonic() < deadline:
            found.extend(r for r in reader.poll(0.5) if belongs(r))
            if len(found) >= expected and settle_until is None:
                settle_until = time.monotonic() + settle_s
            if settle_until is not None and time.monotonic() >= settle_until:
                break
    finally:
        reader.close()
    return found


def key_prefix(prefix: str) -> object:
    encoded = prefix.encode()
    return lambda record: record.key is not None and record.key.startswith(encoded)


def wait_committed(settings: Settings, group: str, topic: str, timeout_s: float = 60.0) -> None:
    """Until ``group``'s committed offsets reach the end of every partition of ``topic``."""
    consumer = Consumer({**settings.kafka.librdkafka_config(), "group.id": group})
    partitions = [TopicPartition(topic, p) for p in range(TEST_PARTITIONS)]
    try:
        marks = [consumer.get_watermark_offsets(tp, timeout=10) for tp in partitions]
        # An empty partition has nothing to commit.
        ends = [high if high > low else -1001 for low, high in marks]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            committed = [tp.offset for tp in consumer.committed(partitions, timeout=10)]
            if all(c >= end for c, end in zip(committed, ends, strict=True)):
                return
            time.sleep(0.5)
        pytest.fail(f"offsets of {topic} not committed within {timeout_s} s: {committed} < {ends}")
    finally:
        consumer.close()
