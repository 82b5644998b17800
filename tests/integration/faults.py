"""Support for the fault tests: a broker of the test's own, a steady feed of generated
declarations, and an audit of what the pipeline wrote.

The audit checks the guarantee the pipeline gives (at-least-once, keyed idempotent outputs):
every valid declaration version sent has an assessment; the compacted view of assessments
(the last record per key) holds one entry per declaration id, the latest version's (the
highest version sent, in whatever order the versions were sent); the compacted view of hits
holds an open referral exactly for the ids whose latest assessment is a referral. Duplicates
in the raw topics are allowed, and counted.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from load_tests.worker_metrics import samples
from pipeline import topics
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.producer import produce_waiting, producer_config
from pipeline.kafka.reader import TopicReader
from pipeline.notices.build import notice_id
from pipeline.records import InputRecord
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.settings import Settings
from tests.factories import filing
from tests.integration.conftest import (
    KAFKA_SCRIPT,
    TEST_PARTITIONS,
    WorkerProcess,
    _free_port,
    spawn_worker,
)

REFERRALS = frozenset({"RFI", "HRCM", "DNL"})
CONSUMED = "screening_declarations_consumed_total"
# Worker settings for the fault tests: a killed worker's partitions move after 10 s (the
# broker accepts 6 s at least, group.min.session.timeout.ms).
FAST_REBALANCE_ENV = {
    "SCREENING_SESSION_TIMEOUT_S": "10",
    "SCREENING_HEARTBEAT_INTERVAL_S": "1",
}

# Generous: two cores shared with a broker, the feed and other test runs.
ASSESSED_TIMEOUT_S = 240.0
CONSUMING_TIMEOUT_S = 120.0
COMMIT_TIMEOUT_S = 60.0

Message_ = tuple[bytes | None, bytes | None]


# --- the broker ------------------------------------------------------------------------------


@dataclass
class Broker:
    """A single-node Kafka of the test's own, started and stopped by deploy/kafka/kafka.sh."""

    data_dir: Path
    port: int = field(default_factory=_free_port)
    controller_port: int = field(default_factory=_free_port)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self._run("start", timeout_s=300)

    def stop(self) -> None:
        """A clean stop: SIGTERM, then the script waits for the controlled shutdown."""
        self._run("stop", timeout_s=120)

    def kill(self) -> None:
        """SIGKILL of the broker's Java process (the pid kafka.sh wrote): no controlled
        shutdown, no flush, its logs recovered at the next start. Returns once the process is
        gone, so that ``start`` sees a stopped broker."""
        pid = int((self.data_dir / "broker.pid").read_text())
        # The pid file is this broker's, its process the Java one running these properties.
        assert str(self.data_dir / "server.properties") in Path(f"/proc/{pid}/cmdline").read_text()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists():  # until reaped (not merely a zombie)
            assert time.monotonic() < deadline, f"broker {pid} still there 30 s after SIGKILL"
            time.sleep(0.1)

    def _run(self, command: str, timeout_s: float) -> None:
        env = {
            **os.environ,
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "KAFKA_DATA_DIR": str(self.data_dir),
        }
        subprocess.run([str(KAFKA_SCRIPT), command], env=env, check=True, timeout=timeout_s)


@contextmanager
def own_broker(
    workdir: Path, partitions: int = TEST_PARTITIONS
) -> Iterator[tuple[Broker, Settings]]:
    """A fresh broker with the pipeline's topics; stopped on the way out, whatever happened."""
    broker = Broker(workdir / "kafka")
    broker.start()
    try:
        settings = Settings(kafka_bootstrap=broker.bootstrap, partitions=partitions)
        ensure_topics(settings)
        yield broker, settings
    finally:
        broker.stop()


# --- what is sent ---------------------------------------------------------------------------


@dataclass
class Sent:
    """The valid declaration versions sent, and the newest version of each declaration."""

    versions: set[tuple[str, int]] = field(default_factory=set)
    latest: dict[str, int] = field(default_factory=dict)

    def add(self, declaration_id: str, version: int) -> None:
        self.versions.add((declaration_id, version))
        self.latest[declaration_id] = max(version, self.latest.get(declaration_id, 0))


def generated_stream(count: int, seed: int, prefix: str) -> tuple[list[Message_], Sent]:
    """``count`` generated messages (filings, amendments, invalidations; a fifth risky) whose
    declaration ids start with ``prefix``, and what they amount to."""
    generator = DeclarationGenerator(
        GeneratorConfig(seed=seed, risky_share=0.2, amendment_share=0.1, invalidation_share=0.03)
    )
    messages: list[Message_] = []
    sent = Sent()
    generated_prefix: bytes | None = None
    for message in generator.messages(count):
        # Ids are "<generator prefix><9-digit sequence>"; the test's own prefix keeps them apart
        # from any other run on the same broker.
        generated_prefix = generated_prefix or message.key[:-9]
        key = message.key.replace(generated_prefix, prefix.encode(), 1)
        value = message.value.replace(generated_prefix, prefix.encode(), 1)
        document = orjson.loads(value)
        sent.add(document["declaration_id"], document["version"])
        messages.append((key, value))
    return messages, sent


class SteadyFeed(threading.Thread):
    """Publishes messages at a steady rate in the background, with the project's idempotent
    producer settings, so that the flow goes on while the test breaks things."""

    def __init__(self, settings: Settings, messages: Sequence[Message_], rate_per_s: float):
        super().__init__(name="steady-feed", daemon=True)
        self._messages = messages
        self._interval_s = 1.0 / rate_per_s
        self._producer = Producer(
            {
                **producer_config(settings.kafka),
                # Ride through a broker restart: retry for up to five minutes.
                "message.timeout.ms": 300_000,
                "on_delivery": self._on_delivery,
            }
        )
        self.published = 0
        self.delivered = 0
        self.failures: list[str] = []
        self.unflushed = -1
        self._abandoned = threading.Event()
        self._hurried = threading.Event()

    def _on_delivery(self, error: KafkaError | None, _message: Message) -> None:
        if error is None:
            self.delivered += 1
        else:
            self.failures.append(error.str())

    def run(self) -> None:
        started = time.monotonic()
        for index, (key, value) in enumerate(self._messages):
            if self._abandoned.is_set():
                return
            pause = started + index * self._interval_s - time.monotonic()
            if pause > 0 and not self._hurried.is_set():
                time.sleep(pause)
            produce_waiting(self._producer, topics.DECLARATIONS, value, key)
            self.published += 1
            self._producer.poll(0)
        deadline = time.monotonic() + 300
        remaining = self._producer.flush(1)
        while remaining and time.monotonic() < deadline and not self._abandoned.is_set():
            remaining = self._producer.flush(1)
        self.unflushed = remaining

    def wait_published(self, count: int, timeout_s: float) -> None:
        """Until ``count`` messages are published (or all of them, if fewer)."""
        deadline = time.monotonic() + timeout_s
        target = min(count, len(self._messages))
        while self.published < target and self.is_alive():
            assert time.monotonic() < deadline, f"{self.published} of {target} published"
            time.sleep(0.05)

    def hurry(self) -> None:
        """Publish the rest without pacing: once what a test breaks has happened under a
        flowing stream, waiting out the stream's schedule proves nothing more."""
        self._hurried.set()

    def abandon(self) -> None:
        """Stop publishing (a test that failed midway), so nothing outlives the test."""
        self._abandoned.set()
        self.join(30)

    def finish(self, timeout_s: float = 400.0) -> None:
        """Wait until every message is published and acknowledged; fail if any was not."""
        self.join(timeout_s)
        assert not self.is_alive(), f"feed still running after {timeout_s} s"
        assert self.failures == [], f"{len(self.failures)} not delivered: {self.failures[:3]}"
        assert self.unflushed == 0
        assert self.delivered == len(self._messages)


def publish_all(
    settings: Settings,
    messages: Sequence[Message_],
    partition: int = -1,
    topic: str = topics.DECLARATIONS,
) -> None:
    """Publish to ``topic`` (the declarations by default) and wait for every acknowledgement;
    ``partition`` -1 lets the key decide."""
    producer = Producer(producer_config(settings.kafka))
    for key, value in messages:
        producer.produce(topic, value, key, partition=partition)
    assert producer.flush(60) == 0


# One message of each kind of poison, with the rejection code it must get from a worker whose
# SCREENING_MAX_MESSAGE_BYTES is MAX_MESSAGE_BYTES.
MAX_MESSAGE_BYTES = 65_536
POISONS: list[tuple[str, bytes | None, str]] = [
    ("invalid-json", b'{"declaration_id": "X", "version": ', "INVALID_JSON"),
    ("version-as-text", b'{"declaration_id": "X", "version": "one"}', "SCHEMA"),
    ("empty", b"", "INVALID_JSON"),
    ("null", None, "NOT_AN_OBJECT"),
    ("goods-as-object", None, "SCHEMA"),  # value built from a good filing by poison_value
    ("oversize", None, "TOO_LARGE"),  # a valid filing padded past the size limit
    ("array", b"[]", "NOT_AN_OBJECT"),
]


def poison_value(kind: str, value: bytes | None, declaration_id: str) -> bytes | None:
    """The value of a POISONS message of ``kind`` (its ``value``, or one built around a filing
    of ``declaration_id``)."""
    if kind == "goods-as-object":
        document = filing(declaration_id)
        document["goods"] = {"hs_code": "940360"}
        return orjson.dumps(document)
    if kind == "oversize":
        document = filing(declaration_id)
        document["remarks"] = "x" * MAX_MESSAGE_BYTES
        return orjson.dumps(document)
    return value


# --- the workers -----------------------------------------------------------------------------


def group_starter(
    settings: Settings,
    workdir: Path,
    app_id: str,
    workers: list[WorkerProcess],
    extra_env: dict[str, str] | None = None,
) -> Callable[[str], WorkerProcess]:
    """Starts workers of the consumer group ``app_id`` on the state folder in ``workdir``
    (one after another, as a supervisor restarts one), each logging to the file it is given
    and added to ``workers``, which the test stops in the end."""

    def start(log_name: str) -> WorkerProcess:
        worker = spawn_worker(
            settings,
            workdir,
            app_id=app_id,
            log_name=log_name,
            extra_env={**FAST_REBALANCE_ENV, **(extra_env or {})},
        )
        workers.append(worker)
        return worker

    return start


def kill_hard(worker: WorkerProcess) -> None:
    """SIGKILL: no shutdown, no commit, no flush; whatever was in flight is lost in the worker."""
    worker.process.send_signal(signal.SIGKILL)
    assert worker.process.wait(timeout=30) == -signal.SIGKILL


def kill_in_flight(worker: WorkerProcess, settings: Settings, group: str) -> int:
    """``kill_hard``, returning the declarations the group had not committed just before (the
    kill's evidence): those fetched or being screened are screened again by whoever takes over
    (the duplicates), so above 0 a kill of a consuming worker took work in flight with it."""
    left = uncommitted(settings, group)
    kill_hard(worker)
    return left


def worker_metric(worker: WorkerProcess, name: str) -> float:
    """The value of one unlabelled sample from the worker's /metrics, 0 if it has none yet."""
    return next((value for labels, value in samples(worker.web_port, name) if not labels), 0.0)


def wait_until_consuming(worker: WorkerProcess, timeout_s: float) -> None:
    """Until the worker has screened at least one declaration (it owns partitions and runs)."""
    deadline = time.monotonic() + timeout_s
    while worker_metric(worker, CONSUMED) == 0:
        assert worker.process.poll() is None, f"worker exited; see {worker.log_path}"
        assert time.monotonic() < deadline, f"worker screened nothing in {timeout_s} s"
        time.sleep(0.2)


def uncommitted(settings: Settings, group: str, topic: str = topics.DECLARATIONS) -> int:
    """Records of ``topic`` (the declarations by default) the consumer group has not
    committed: end offsets minus committed ones."""
    partitions = [TopicPartition(topic, p) for p in range(settings.topics.partitions)]
    request = ConsumerGroupTopicPartitions(group, partitions)
    admin = AdminClient(settings.kafka.librdkafka_config())
    (future,) = admin.list_consumer_group_offsets([request]).values()
    committed = {tp.partition: max(tp.offset, 0) for tp in future.result().topic_partitions}
    consumer = Consumer(
        {**settings.kafka.librdkafka_config(), "group.id": f"faults-{uuid.uuid4()}"}
    )
    try:
        ends = {
            tp.partition: consumer.get_watermark_offsets(tp, timeout=15)[1] for tp in partitions
        }
    finally:
        consumer.close()
    return sum(ends[p] - committed[p] for p in ends)


def wait_for_commits(
    settings: Settings, group: str, timeout_s: float, topic: str = topics.DECLARATIONS
) -> int:
    """Until the group has committed everything on ``topic`` (the declarations by default),
    or time runs out; returns what is left. An idle worker commits what it screened within a
    commit interval (Faust's default 2.8 s); what it leaves uncommitted is screened again after
    a crash."""
    deadline = time.monotonic() + timeout_s
    left = uncommitted(settings, group, topic)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = uncommitted(settings, group, topic)
    return left


# --- what comes out -------------------------------------------------------------------------


def _version_of(record: InputRecord) -> tuple[str, int]:
    assert record.key is not None
    assert record.value is not None
    return record.key.decode(), int(orjson.loads(record.value)["version"])


def wait_for_assessments(
    settings: Settings, sent: Sent, prefix: str, timeout_s: float
) -> set[tuple[str, int]]:
    """Read assessments as they arrive until every version sent has one, or time runs out;
    returns the versions assessed, so that the caller's assertion names what is missing."""
    encoded = prefix.encode()
    assessed: set[tuple[str, int]] = set()
    reader = TopicReader(settings.kafka, topics.ASSESSMENTS)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not sent.versions <= assessed:
            for record in reader.poll(0.5, max_records=5000):
                if record.key is not None and record.key.startswith(encoded) and record.value:
                    assessed.add(_version_of(record))
    finally:
        reader.close()
    return assessed


def wait_for_keys(settings: Settings, topic: str, keys: set[bytes], timeout_s: float) -> set[bytes]:
    """Read ``topic`` until a record has arrived for every key in ``keys``, or time runs out."""
    seen: set[bytes] = set()
    reader = TopicReader(settings.kafka, topic)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not keys <= seen:
            seen.update(r.key for r in reader.poll(0.5, max_records=5000) if r.key in keys)
    finally:
        reader.close()
    return seen


def read_all(settings: Settings, topic: str, prefix: str) -> list[InputRecord]:
    """Every record of ``topic`` now stored under a key starting with ``prefix``, in order."""
    encoded = prefix.encode()
    reader = TopicReader(settings.kafka, topic)
    found: list[InputRecord] = []
    try:
        while not reader.caught_up:
            found.extend(
                r
                for r in reader.poll(1.0, max_records=5000)
                if r.key is not None and r.key.startswith(encoded)
            )
    finally:
        reader.close()
    return found


def dead_letters(settings: Settings, prefix: str) -> dict[bytes, list[dict[str, Any]]]:
    """The rejections on the dead-letter topic under keys starting with ``prefix``, by key."""
    rejections: dict[bytes, list[dict[str, Any]]] = {}
    for record in read_all(settings, topics.DLQ, prefix):
        assert record.key is not None
        assert record.value is not None
        rejections.setdefault(record.key, []).append(orjson.loads(record.value))
    return rejections


def check_dead_letters(
    rejections: dict[bytes, list[dict[str, Any]]],
    expected: dict[bytes, tuple[str, bytes | None]],
) -> None:
    """Every poison message (key: its rejection code and original value) is on the
    dead-letter topic, at least once, each time with its code and its original bytes; nothing
    else of the run is."""
    assert set(rejections) == set(expected)
    for key, (code, original) in expected.items():
        for rejection in rejections[key]:
            assert rejection["error"]["code"] == code, key
            assert base64.b64decode(rejection["original"]) == (original or b""), key
            assert rejection["source"]["topic"] == topics.DECLARATIONS


def dead_letter_figures(
    rejections: dict[bytes, list[dict[str, Any]]], expected: dict[bytes, tuple[str, bytes | None]]
) -> dict[str, int]:
    """The poison sent, its records on the dead-letter topic and those beyond one per key."""
    dead = sum(len(rejected) for rejected in rejections.values())
    return {
        "poison_sent": len(expected),
        "dead_letters": dead,
        "dead_letter_duplicates": dead - len(rejections),
    }


def compacted(records: Sequence[InputRecord]) -> dict[str, InputRecord]:
    """What compaction keeps: the last record per key, tombstones removing the key. A key
    always lands on one partition, so offset order is the order of its records."""
    live: dict[str, InputRecord] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        assert record.key is not None
        if record.value is None:
            live.pop(record.key.decode(), None)
        else:
            live[record.key.decode()] = record
    return live


@dataclass
class Audit:
    """The figures every fault test reports, and the inconsistencies it found."""

    sent: int  # valid declaration versions sent
    assessed: int  # of those, how many have at least one assessment
    missing: int
    assessment_records: int  # raw records on the assessments topic
    duplicates: int  # raw assessment records beyond the first per declaration id + version
    hit_duplicates: int  # raw hit records beyond the first per declaration id + version
    distinct_ids: int
    compacted: int  # keys in the compacted view of assessments
    open_hits: int  # keys in the compacted view of hits
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        figures = asdict(self)
        figures["problems"] = self.problems[:10]
        return figures


def audit(settings: Settings, sent: Sent, prefix: str) -> Audit:
    """Read the assessments and hits of this run in full (call it once the workers have
    stopped, so that the figures are final) and check them against what was sent."""
    assessments = read_all(settings, topics.ASSESSMENTS, prefix)
    hits = read_all(settings, topics.HITS, prefix)
    return judge(sent, assessments, hits)


def judge(sent: Sent, assessments: Sequence[InputRecord], hits: Sequence[InputRecord]) -> Audit:
    """The audit's checks and figures, from the records of the assessments and hits topics."""
    per_version = Counter(_version_of(r) for r in assessments if r.value is not None)
    hit_versions = Counter(_version_of(r) for r in hits if r.value is not None)
    live = compacted(assessments)
    open_hits = compacted(hits)
    # The outcome of each declaration's newest version (the highest sent, whatever the order
    # it was sent in), from its last assessment: what the open hit must agree with, also when
    # the compacted view wrongly ends with an older version.
    newest_outcomes = {
        declaration_id: orjson.loads(record.value)["outcome"]
        for record in sorted(assessments, key=lambda r: (r.partition, r.offset))
        if record.value is not None
        for declaration_id, version in [_version_of(record)]
        if version == sent.latest.get(declaration_id)
    }
    problems: list[str] = [
        f"assessed but never sent: {v}" for v in set(per_version) - sent.versions
    ]

    latest_outcomes: dict[str, str] = {}
    for declaration_id, latest in sent.latest.items():
        record = live.get(declaration_id)
        if record is None:
            problems.append(f"{declaration_id}: no assessment in the compacted view")
            continue
        assert record.value is not None
        assessment = orjson.loads(record.value)
        latest_outcomes[declaration_id] = newest_outcomes.get(declaration_id, assessment["outcome"])
        if assessment["version"] != latest:
            problems.append(
                f"{declaration_id}: compacted assessment is version {assessment['version']}, "
                f"the latest sent is {latest}"
            )
    for declaration_id, outcome in latest_outcomes.items():
        hit = open_hits.get(declaration_id)
        if outcome in REFERRALS and hit is None:
            problems.append(f"{declaration_id}: latest assessment is {outcome} but no open hit")
        elif outcome not in REFERRALS and hit is not None:
            problems.append(f"{declaration_id}: latest assessment is {outcome} but a hit is open")
        elif hit is not None and _version_of(hit)[1] != sent.latest[declaration_id]:
            problems.append(f"{declaration_id}: the open hit is not the latest version's")
    problems.extend(f"{key}: hit for an id never sent" for key in set(open_hits) - set(sent.latest))

    assessed = len(sent.versions & set(per_version))
    return Audit(
        sent=len(sent.versions),
        assessed=assessed,
        missing=len(sent.versions) - assessed,
        assessment_records=len(assessments),
        duplicates=sum(per_version.values()) - len(per_version),
        hit_duplicates=sum(hit_versions.values()) - len(hit_versions),
        distinct_ids=len(sent.latest),
        compacted=len(set(live) & set(sent.latest)),
        open_hits=len(open_hits),
        problems=problems,
    )


@dataclass
class NoticeAudit:
    """Every assessment of a filing that names a filer has its notice (by notice_id)."""

    expected: int  # distinct notices the assessments call for
    missing: int
    notice_records: int  # raw records on the notices topic for this run's declarations
    duplicates: int  # raw notice records beyond the first per notice_id
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        figures = asdict(self)
        figures["problems"] = self.problems[:10]
        return figures


def audit_notices(settings: Settings, prefix: str) -> NoticeAudit:
    """Read the assessments and the filers' notices of this run in full and check that every
    assessed FILING or AMENDMENT has its notice. The generated filings all name a filer (the
    declarant's id). A version that any of its assessments says was superseded (a newer version
    was assessed first, possibly only when its batch was screened again after a kill) is told
    nothing; its notice may exist from the first screening, and is not required."""
    assessments = read_all(settings, topics.ASSESSMENTS, prefix)
    notices = [
        orjson.loads(r.value)
        for r in read_all(settings, topics.FILER_NOTICES, "")
        if r.value is not None and orjson.loads(r.value)["declaration_id"].startswith(prefix)
    ]
    return judge_notices(assessments, notices)


def judge_notices(
    assessments: Sequence[InputRecord], notices: Sequence[dict[str, Any]]
) -> NoticeAudit:
    outcomes: dict[tuple[str, int], set[str]] = {}
    superseded: set[tuple[str, int]] = set()
    for record in assessments:
        if record.value is None:
            continue
        assessment = orjson.loads(record.value)
        version = (assessment["declaration_id"], assessment["version"])
        if assessment.get("superseded_by") is not None:
            superseded.add(version)
        if assessment.get("message_type", "FILING") != "INVALIDATION":
            outcomes.setdefault(version, set()).add(assessment["outcome"])
    expected = {
        notice_id(declaration_id, version, outcome): (declaration_id, version, outcome)
        for (declaration_id, version), seen in outcomes.items()
        if (declaration_id, version) not in superseded
        for outcome in seen
    }
    sent = Counter(notice["notice_id"] for notice in notices)
    missing = sorted(expected[n] for n in set(expected) - set(sent))
    return NoticeAudit(
        expected=len(expected),
        missing=len(missing),
        notice_records=len(notices),
        duplicates=sum(sent.values()) - len(sent),
        problems=[f"no notice for {v}" for v in missing],
    )


def check(result: Audit, left: int) -> None:
    """What every fault test requires of its audit, once its workers have stopped; ``left``:
    the declarations their group had not committed when the last one stopped."""
    assert result.missing == 0, result.problems[:10]
    assert result.compacted == result.distinct_ids
    assert result.problems == [], f"{len(result.problems)} problems: {result.problems[:10]}"
    # Not a loss, but what bounds the duplicates: an idle worker has committed its input.
    assert left == 0, f"{left} declarations screened but never committed"


def fault_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file ``report`` appends to: fault-results.jsonl in the pytest base temp folder."""
    return tmp_path_factory.getbasetemp() / "fault-results.jsonl"


def report(name: str, figures: dict[str, Any], results_file: Path, record_property: Any) -> None:
    """Print the figures, attach them to the test (JUnit XML properties) and append them as
    one JSON line to ``results_file``."""
    line = json.dumps({"test": name, **figures}, sort_keys=True)
    print(line)
    for key, value in figures.items():
        record_property(key, value)
    with results_file.open("a") as out:
        out.write(line + "\n")
