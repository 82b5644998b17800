"""The officers' workbench under load: how fast the worklist renders with many open referrals,
and how long a hit takes to reach the worklist at the benchmark's half rate.

    .venv/bin/python -m load_tests.workbench_bench [--cases 10000] [--large-cases 100000]
        [--rate R] [--seconds 60] [--warmup-seconds 15]

Starts a PostgreSQL of its own (deploy/postgres/postgres.sh on a free port with its own data
folder, deleted at the end) and a broker of its own (load_tests.broker), then:

1. worklist: fills a fresh, migrated database with --cases open referrals in one transaction
   (COPY: the cases, their parties, their referral rows and an OPENED event each, built from the
   project's declaration generator and the default rules' ids), starts `screening workbench`,
   logs in over HTTP as the demo officer and times the full page (GET /), the htmx fragment
   (GET /worklist/rows), a filtered view and a party-name search, --requests times each after
   --warmup-requests; then tops the database up to --large-cases open referrals (0: skip) and
   times the same again.
2. ingest: publishes the benchmark's reference data and the default rules, starts
   `screening worker` and a workbench on another fresh database, and sends declarations open
   loop (load_tests.loadgen) at --rate (default: the benchmark's latency rate in bench.json,
   half the pipeline's) for --seconds, after --warmup-seconds at that rate that are not
   measured. Once the worker has assessed everything and the workbench's stored offsets reach
   the end of the hits and assessments topics, it reads for every case of the measured phase
   opened_at minus the opening hit's assessed_at (opened_at is the ingest transaction's start:
   the commit is left out), and the workbench's own histogram
   screening_workbench_ingest_delay_seconds (observed after the commit), as the difference of
   its buckets over the measured phase.

Writes workbench.json and workbench.md to --results. Every process it started is stopped at the
end, on failure or Ctrl-C too. Speed is reported, never asserted: a phase that fails is written
as failed and the command exits 1.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import traceback
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlencode, urlsplit

import httpx
import msgspec
import orjson
import psycopg
from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql
from psycopg.types.json import Jsonb
from rich.console import Console

from load_tests.args import OneLineParser, positive_float, positive_int
from load_tests.bench import PARTITIONS, publish_ruleset, wait_ready
from load_tests.broker import bench_broker, free_port
from load_tests.http_session import LoopbackCookies
from load_tests.loadgen import PayloadPool, send_open_loop
from load_tests.machine import kafka_version, machine
from load_tests.reference_startup import publish_reference_data
from load_tests.topic_stats import count_since, end_offsets, group_lag
from load_tests.variants import rss_mb, stop_process
from pipeline import topics
from pipeline.contract.models import Action, Match
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.producer import producer_config
from pipeline.kafka.reader import read_compacted
from pipeline.rules.loader import load_ruleset
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.screening.outcome import PRIORITY, Thresholds, decide
from pipeline.screening.summary import summarise
from pipeline.settings import Settings
from pipeline.workbench.migrations import migrate
from pipeline.workbench.referrals import Referral, referral_from_hit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "load_tests" / "results"
POSTGRES_SCRIPT = ROOT / "deploy" / "postgres" / "postgres.sh"
HALF_RATE_FALLBACK = 1862.0  # bench.md's latency rate, when bench.json has none
DEMO_PASSWORD = "workbench-bench-demo-password"
FILL_SEED = 2024
WARMUP_SEED = 5151
MEASURE_SEED = 5252
WORKLIST_TARGET_MS = 500.0
DELAY_TARGET_S = 2.0
# Outcomes of the filled referrals, roughly as a targeting centre sees them.
OUTCOME_WEIGHTS = {"RFI": 0.55, "HRCM": 0.35, "DNL": 0.10}
DELAY_HISTOGRAM = "screening_workbench_ingest_delay_seconds"
_READY_TIMEOUT_S = 90.0
_COUNT = re.compile(r'data-testid="count">(\d+) ')
_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
console = Console(stderr=True)


# --- PostgreSQL and the workbench process ------------------------------------------------------


@contextmanager
def bench_postgres(work: Path) -> Iterator[str]:
    """A PostgreSQL of the bench's own on a free port; yields the URL of its database (whose
    role may create databases); stopped and its data deleted at the end.

    As root the server runs as the ``postgres`` user (see the script's header), who cannot reach
    root's folders: its data goes to a folder under /tmp that does not exist yet."""
    port = free_port()
    if os.geteuid() == 0:
        data = Path("/tmp") / f"screening-workbench-bench-{port}-{uuid.uuid4().hex[:8]}"
    else:
        data = work / "postgres"
        if data.exists():
            shutil.rmtree(data)
    env = {**os.environ, "PG_PORT": str(port), "PG_DATA_DIR": str(data)}
    try:
        subprocess.run([str(POSTGRES_SCRIPT), "start"], env=env, check=True, timeout=180)
        url = subprocess.run(
            [str(POSTGRES_SCRIPT), "url"], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        yield url
    finally:
        subprocess.run([str(POSTGRES_SCRIPT), "reset"], env=env, check=False, timeout=180)


def create_database(server_url: str, name: str) -> str:
    """A new, empty database on the server; its URL."""
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(name)
            )
        )
    return urlsplit(server_url)._replace(path=f"/{name}").geturl()


@dataclass
class Workbench:
    """A running `screening workbench --demo-accounts`."""

    process: subprocess.Popen[bytes]
    port: int
    group: str
    database_url: str
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.process)


def start_workbench(bootstrap: str, database_url: str, log_path: Path, group: str) -> Workbench:
    """Start a workbench and wait until /readyz answers; stopped again if it never does."""
    port = free_port()
    env = {
        **os.environ,
        "SCREENING_KAFKA_BOOTSTRAP": bootstrap,
        "SCREENING_PARTITIONS": str(PARTITIONS),
        "SCREENING_DATABASE_URL": database_url,
        "SCREENING_WORKBENCH_PORT": str(port),
        "SCREENING_WORKBENCH_GROUP": group,
        "SCREENING_DEMO_PASSWORD": DEMO_PASSWORD,
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "workbench", "--demo-accounts"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    bench = Workbench(process, port, group, database_url, log_path)
    try:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"workbench exited with {process.returncode} (see {log_path.name})"
                )
            try:
                with urllib.request.urlopen(f"{bench.url}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return bench
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"workbench not ready in {_READY_TIMEOUT_S:.0f} s")
            time.sleep(0.2)
    except BaseException:
        bench.stop()
        raise


def start_worker(bootstrap: str, work: Path, app_id: str) -> subprocess.Popen[bytes]:
    """`screening worker` as the benchmark runs it; ready when this returns."""
    env = {
        **os.environ,
        "SCREENING_KAFKA_BOOTSTRAP": bootstrap,
        "SCREENING_PARTITIONS": str(PARTITIONS),
        "SCREENING_APP_ID": app_id,
        "SCREENING_WEB_PORT": str(free_port()),
        "SCREENING_DATA_DIR": str(work / "worker-state"),
    }
    log_path = work / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(worker, log_path)
    except BaseException:
        stop_process(worker)
        raise
    return worker


# --- an officer's browser ----------------------------------------------------------------------


class Officer:
    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(
            base_url=base_url, follow_redirects=False, timeout=120, auth=LoopbackCookies()
        )

    def login(self, username: str = "officer", password: str = DEMO_PASSWORD) -> None:
        form = self.client.get("/login")
        token = _LOGIN_TOKEN.search(form.text)
        if token is None:
            raise RuntimeError(f"no login form: HTTP {form.status_code}")
        answer = self.client.post(
            "/login",
            data={"username": username, "password": password, "login_token": token.group(1)},
        )
        if answer.status_code != 303:
            raise RuntimeError(f"login as {username} refused: HTTP {answer.status_code}")

    def get(self, path: str) -> tuple[float, httpx.Response]:
        """GET a page as a browser would (the fragment as htmx asks for it); the time until the
        whole body has arrived, in ms."""
        headers = {"HX-Request": "true"} if path.startswith("/worklist/rows") else {}
        started = time.perf_counter()
        response = self.client.get(path, headers=headers)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.status_code != 200 or _COUNT.search(response.text) is None:
            raise RuntimeError(f"GET {path}: HTTP {response.status_code}: {response.text[:300]}")
        return elapsed_ms, response

    def close(self) -> None:
        self.client.close()


# --- figures -----------------------------------------------------------------------------------


def percentile(ordered: list[float], p: float) -> float:
    """The nearest-rank percentile of values sorted ascending."""
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def spread(values: list[float], digits: int = 1) -> dict[str, Any]:
    """Count, p50, p95, p99, max, min and mean of values (ms); None figures when empty."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, **dict.fromkeys(("p50", "p95", "p99", "max", "min", "mean"))}
    return {
        "count": len(ordered),
        "p50": round(percentile(ordered, 50), digits),
        "p95": round(percentile(ordered, 95), digits),
        "p99": round(percentile(ordered, 99), digits),
        "max": round(ordered[-1], digits),
        "min": round(ordered[0], digits),
        "mean": round(sum(ordered) / len(ordered), digits),
    }


def histogram_buckets(port: int, name: str = DELAY_HISTOGRAM) -> dict[str, float]:
    """The cumulative bucket counts of a histogram on a workbench's /metrics, by ``le``, with
    the count and sum under "count" and "sum"."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                found[sample.labels["le"]] = float(sample.value)
            elif sample.name == f"{name}_count":
                found["count"] = float(sample.value)
            elif sample.name == f"{name}_sum":
                found["sum"] = float(sample.value)
    return found


def histogram_window(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """What the histogram observed between two readings: count, mean, cumulative buckets, and
    the share at or under 0.5 s, 1 s and 2 s."""
    diff = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
    count = diff.get("count", 0.0)
    buckets = {
        le: int(value)
        for le, value in sorted(
            ((k, v) for k, v in diff.items() if k not in ("count", "sum")),
            key=lambda item: float(item[0]),
        )
    }

    def share(le: str) -> float | None:
        return round(diff[le] / count, 4) if count and le in diff else None

    return {
        "count": int(count),
        "mean_s": round(diff.get("sum", 0.0) / count, 4) if count else None,
        "buckets": buckets,
        "share_le_0_5_s": share("0.5"),
        "share_le_1_s": share("1.0"),
        "share_le_2_s": share("2.0"),
    }


# --- part 1: the worklist ----------------------------------------------------------------------


class CaseFactory:
    """Open referrals as the ingest would have written them: a generated filing, a hit on it
    from the default rules' ids (one rule of the outcome's action, up to two scoring ones),
    loading times spread over the 48 hours either side of now."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._generator = DeclarationGenerator(GeneratorConfig(seed=seed))
        rules = load_ruleset(ROOT / "rules").rules
        self._by_action = {
            action: [r for r in rules if r.action == action and not r.shadow]
            for action in ("RFI", "HRCM", "DNL", "SCORE")
        }
        self._outcomes = list(OUTCOME_WEIGHTS)
        self._weights = list(OUTCOME_WEIGHTS.values())

    def referral(self, now: datetime) -> Referral:
        rng = self._rng
        declaration = self._generator.declaration(risky=True)
        wanted = rng.choices(self._outcomes, self._weights)[0]
        chosen = [rng.choice(self._by_action[wanted])]
        chosen += rng.sample(self._by_action["SCORE"], rng.choice((0, 0, 1, 2)))
        matches = [
            Match(
                rule_id=rule.id,
                rule_version=rule.version,
                action=cast(Action, rule.action),
                score=rule.score,
                reason=rule.reason,
                evidence={},
            )
            for rule in chosen
        ]
        outcome, score = decide(matches, 0.0, Thresholds())
        assessed_at = now - timedelta(seconds=rng.uniform(60, 12 * 3600))
        hit = {
            "declaration_id": declaration["declaration_id"],
            "version": 1,
            "outcome": outcome,
            "score": score,
            "matches": msgspec.to_builtins(matches),
            "shadow_matches": [],
            "parties": [],
            "ruleset_version": "workbench-bench",
            "submitted_at": declaration["submitted_at"],
            "assessed_at": assessed_at.isoformat(timespec="milliseconds"),
            "superseded_versions": [],
            "priority": PRIORITY[outcome],
            "summary": summarise(outcome, score, matches),
            "message_type": "FILING",
            "declaration": declaration,
        }
        referral = referral_from_hit(hit)
        loading = (
            None
            if rng.random() < 0.02
            else now + timedelta(seconds=rng.uniform(-48 * 3600, 48 * 3600))
        )
        return replace(referral, estimated_loading_at=loading)


_CASE_COLUMNS = (
    "declaration_id, version, outcome, priority, score, summary, mode, office,"
    " loading_location, estimated_loading_at, transport_document, container_ids, rule_ids,"
    " party_names, status, assessed_at, opened_at, updated_at"
)


def insert_cases(database_url: str, referrals: list[Referral]) -> None:
    """The cases of ``referrals`` with their parties, referral rows and OPENED events, in one
    transaction, by COPY; then ANALYZE. No outbox rows: nothing is to be published."""
    opened = {r.declaration_id: r.assessed_at + timedelta(milliseconds=150) for r in referrals}
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY cases ({_CASE_COLUMNS}) FROM STDIN") as copy:
            for r in referrals:
                at = opened[r.declaration_id]
                copy.write_row(
                    (
                        r.declaration_id,
                        r.version,
                        r.outcome,
                        r.priority,
                        r.score,
                        r.summary,
                        r.mode,
                        r.office,
                        r.loading_location,
                        r.estimated_loading_at,
                        r.transport_document,
                        r.container_ids,
                        r.rule_ids,
                        r.party_names,
                        "OPEN",
                        r.assessed_at,
                        at,
                        at,
                    )
                )
        ids: dict[str, int] = dict(
            cur.execute(
                "SELECT declaration_id, case_id FROM cases WHERE declaration_id = ANY(%s)",
                ([r.declaration_id for r in referrals],),
            ).fetchall()
        )
        with cur.copy(
            "COPY referrals (declaration_id, version, case_id, outcome, score, hit, declaration,"
            " assessed_at, received_at) FROM STDIN"
        ) as copy:
            for r in referrals:
                copy.write_row(
                    (
                        r.declaration_id,
                        r.version,
                        ids[r.declaration_id],
                        r.outcome,
                        r.score,
                        Jsonb(r.hit),
                        Jsonb(r.declaration),
                        r.assessed_at,
                        opened[r.declaration_id],
                    )
                )
        with cur.copy(
            "COPY case_parties (case_id, role, party_key, name, country, ids) FROM STDIN"
        ) as copy:
            for r in referrals:
                for p in r.parties:
                    copy.write_row(
                        (ids[r.declaration_id], p.role, p.party_key, p.name, p.country, p.ids)
                    )
        with cur.copy("COPY case_events (case_id, at, actor, kind, after) FROM STDIN") as copy:
            for r in referrals:
                summary = {
                    "version": r.version,
                    "outcome": r.outcome,
                    "score": r.score,
                    "rules": r.rule_ids,
                }
                copy.write_row(
                    (ids[r.declaration_id], opened[r.declaration_id], "system", "OPENED",
                     Jsonb(summary))
                )  # fmt: skip
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def search_term(database_url: str) -> str:
    """Part of a party name, as an officer would type it: a word of at least five letters
    from the consignee of the middle case, in lower case."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT p.name FROM case_parties p WHERE p.role = 'consignee'"
            " ORDER BY p.case_id OFFSET (SELECT count(*) / 2 FROM cases) LIMIT 50"
        ).fetchall()
    for (name,) in rows:
        for word in re.findall(r"[^\W\d_]{5,}", str(name)):
            if word.upper() not in {"LIMITED", "COMPANY", "TRADING", "GROUP"}:
                return str(word).lower()
    return "trad"


def time_views(
    officer: Officer, views: dict[str, str], warmups: int, requests: int
) -> dict[str, dict[str, Any]]:
    """Each view ``warmups`` times untimed, then ``requests`` times timed, one after another."""
    found: dict[str, dict[str, Any]] = {}
    for name, path in views.items():
        for _ in range(warmups):
            officer.get(path)
        samples: list[float] = []
        response: httpx.Response | None = None
        for _ in range(requests):
            elapsed, response = officer.get(path)
            samples.append(elapsed)
        assert response is not None
        shown = _COUNT.search(response.text)
        found[name] = {
            "path": path,
            "matching": int(shown.group(1)) if shown else None,
            "bytes": len(response.content),
            **{f"{k}_ms" if k != "count" else "requests": v for k, v in spread(samples).items()},
            "samples_ms": [round(s, 1) for s in samples],
        }
        stats = found[name]
        console.print(
            f"  {name:<8} {path:<40} p50 {stats['p50_ms']:7.1f} ms  p95 {stats['p95_ms']:7.1f} ms"
            f"  max {stats['max_ms']:7.1f} ms  ({stats['matching']:,} matching,"
            f" {stats['bytes']:,} bytes)"
        )
    return found


def worklist_phase(args: Any, bootstrap: str, server_url: str, stack: ExitStack) -> dict[str, Any]:
    work: Path = args.work_dir
    database_url = create_database(server_url, "bench_worklist")
    with psycopg.connect(database_url) as conn:
        migrate(conn)
    factory = CaseFactory(FILL_SEED)
    sizes = [args.cases]
    if args.large_cases > args.cases:
        sizes.append(args.large_cases)
    found: dict[str, Any] = {"sizes": {}, "requests": args.requests, "warmups": args.warmups}
    bench: Workbench | None = None
    officer: Officer | None = None
    filled = 0
    for size in sizes:
        console.print(f"[bold]worklist[/bold]: filling to {size:,} open referrals ...")
        started = time.monotonic()
        now = datetime.now(UTC)
        while filled < size:
            chunk = [factory.referral(now) for _ in range(min(20_000, size - filled))]
            insert_cases(database_url, chunk)
            filled += len(chunk)
        fill_s = round(time.monotonic() - started, 1)
        console.print(f"  filled in {fill_s} s")
        if bench is None:
            bench = start_workbench(
                bootstrap,
                database_url,
                work / "workbench-worklist.log",
                f"workbench-bench-worklist-{uuid.uuid4().hex[:6]}",
            )
            stack.callback(bench.stop)
            officer = Officer(bench.url)
            stack.callback(officer.close)
            officer.login()
        assert officer is not None
        term = search_term(database_url)
        views = {
            "page": "/",
            "rows": "/worklist/rows",
            "filtered": "/?" + urlencode({"outcome": "DNL", "mode": "SEA"}),
            "search": "/?" + urlencode({"q": term}),
        }
        timed = time_views(officer, views, args.warmups, args.requests)
        worst_p95 = max(v["p95_ms"] for v in timed.values())
        found["sizes"][str(size)] = {
            "open_cases": size,
            "fill_s": fill_s,
            "search_term": term,
            "views": timed,
            "worst_p95_ms": worst_p95,
            "all_p95_under_target": worst_p95 < WORKLIST_TARGET_MS,
        }
    assert bench is not None
    found["workbench_rss_mb"] = rss_mb(bench.process.pid)
    bench.stop()
    return found


# --- part 2: hit to worklist -------------------------------------------------------------------


def read_range(
    settings: Settings, topic: str, start: dict[int, int], end: dict[int, int]
) -> list[tuple[bytes | None, bytes | None]]:
    """Key and value of every record of ``topic`` from ``start`` up to ``end``, by partition in
    offset order."""
    wanted = {p: (start.get(p, 0), e) for p, e in end.items() if e > start.get(p, 0)}
    if not wanted:
        return []
    consumer = Consumer(
        {
            **settings.kafka.librdkafka_config(),
            "group.id": f"workbench-bench-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    by_partition: dict[int, list[tuple[bytes | None, bytes | None]]] = {p: [] for p in wanted}
    done: set[int] = set()
    try:
        consumer.assign([TopicPartition(topic, p, s) for p, (s, _) in wanted.items()])
        deadline = time.monotonic() + 120
        while len(done) < len(wanted):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end")
            for message in consumer.consume(1000, 1.0):
                partition, offset = message.partition(), message.offset()
                if message.error() is not None or partition is None or offset is None:
                    continue
                if partition in done or offset >= wanted[partition][1]:
                    continue
                by_partition[partition].append((message.key(), message.value()))
                if offset + 1 >= wanted[partition][1]:
                    done.add(partition)
    finally:
        consumer.close()
    return [record for p in sorted(by_partition) for record in by_partition[p]]


def stored_offsets(database_url: str, group: str) -> dict[tuple[str, int], int]:
    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT topic, partition, next_offset FROM kafka_offsets WHERE consumer = %s",
            (group,),
        ).fetchall()
    return {(str(t), int(p)): int(o) for t, p, o in rows}


def wait_drained(
    settings: Settings,
    bench: Workbench,
    assessments_from: dict[int, int],
    sent: int,
    timeout_s: float,
) -> dict[str, Any]:
    """Until the worker has written an assessment for every declaration sent and the workbench
    has stored, with what it applied, offsets at the end of the hits and assessments topics."""
    started = time.monotonic()
    assessed = behind = 0
    while True:
        assessed = count_since(settings, topics.ASSESSMENTS, assessments_from)
        if assessed >= sent:
            stored = stored_offsets(bench.database_url, bench.group)
            behind = sum(
                end - stored.get((topic, partition), 0)
                for topic in (topics.HITS, topics.ASSESSMENTS)
                for partition, end in end_offsets(settings, topic).items()
                if end > 0
            )
            if behind == 0:
                return {"drained": True, "drain_s": round(time.monotonic() - started, 1)}
        if time.monotonic() - started > timeout_s:
            return {
                "drained": False,
                "drain_s": round(time.monotonic() - started, 1),
                "unassessed": max(0, sent - assessed),
                "records_not_ingested": behind,
            }
        time.sleep(0.5)


def send_phase(
    settings: Settings, rate: float, seconds: float, seed: int, risky_share: float
) -> tuple[dict[str, Any], list[str]]:
    """Open loop at ``rate`` for ``seconds``; the send report and the declaration ids sent."""
    count = max(1, round(rate * seconds))
    pool = PayloadPool(min(count, 50_000), seed, risky_share)
    ids: list[str] = []

    def noted() -> Iterator[Any]:
        for payload in pool.take(count):
            ids.append(payload.declaration_id)
            yield payload

    producer = Producer(producer_config(settings.kafka))
    report = send_open_loop(producer, noted(), count, rate, None, progress=True)
    return report.as_json(), ids


def ingest_phase(
    args: Any, settings: Settings, server_url: str, stack: ExitStack
) -> dict[str, Any]:
    work: Path = args.work_dir
    console.print(f"[bold]ingest[/bold]: reference data ({args.aeo:,} AEO, {args.watchlist:,})")
    publish_reference_data(settings, args.aeo, args.watchlist)
    publish_ruleset(settings, ROOT / "rules")
    started = time.monotonic()
    worker = start_worker(settings.kafka.servers, work, f"workbench-bench-{uuid.uuid4().hex[:6]}")
    stack.callback(stop_process, worker)
    worker_ready_s = round(time.monotonic() - started, 1)
    console.print(f"  worker ready after {worker_ready_s} s")
    database_url = create_database(server_url, "bench_ingest")
    bench = start_workbench(
        settings.kafka.servers,
        database_url,
        work / "workbench-ingest.log",
        f"workbench-bench-ingest-{uuid.uuid4().hex[:6]}",
    )
    stack.callback(bench.stop)

    # Warm-up, not measured: the worker's caches fill, both consumer groups settle.
    console.print(f"  warm-up: {args.rate:,.0f}/s for {args.warmup_seconds} s")
    assessments_from = end_offsets(settings, topics.ASSESSMENTS)
    warm_report, warm_ids = send_phase(
        settings, args.rate, args.warmup_seconds, WARMUP_SEED, args.risky_share
    )
    warm_drain = wait_drained(
        settings, bench, assessments_from, warm_report["sent"], args.drain_timeout
    )
    if not warm_drain["drained"]:
        raise RuntimeError(f"the warm-up was not worked off: {warm_drain}")

    console.print(f"  measured: {args.rate:,.0f}/s for {args.seconds} s")
    histogram_before = histogram_buckets(bench.port)
    hits_from = end_offsets(settings, topics.HITS)
    assessments_from = end_offsets(settings, topics.ASSESSMENTS)
    report, ids = send_phase(settings, args.rate, args.seconds, MEASURE_SEED, args.risky_share)
    drain = wait_drained(settings, bench, assessments_from, report["sent"], args.drain_timeout)
    # The histogram is observed just after the commit that stored the offsets read above.
    time.sleep(1.0)
    histogram_after = histogram_buckets(bench.port)
    console.print(f"  drained: {drain}")
    measured = set(ids)
    if measured & set(warm_ids):
        raise RuntimeError("the warm-up and the measured phase share declaration ids")

    hits = read_range(settings, topics.HITS, hits_from, end_offsets(settings, topics.HITS))
    last: dict[bytes | None, bytes | None] = {}
    for key, value in hits:
        last[key] = value
    hit_records = sum(1 for _, value in hits if value is not None)
    hit_declarations = {key for key, value in hits if value is not None}
    expected_open = sum(1 for value in last.values() if value is not None)

    with psycopg.connect(database_url, autocommit=True) as conn:
        cases = conn.execute(
            "SELECT c.declaration_id, c.status, extract(epoch FROM c.opened_at - r.assessed_at)"
            " FROM cases c CROSS JOIN LATERAL (SELECT assessed_at FROM referrals"
            "  WHERE case_id = c.case_id ORDER BY version LIMIT 1) r"
        ).fetchall()
        versions = conn.execute(
            "SELECT declaration_id, extract(epoch FROM received_at - assessed_at) FROM referrals"
        ).fetchall()
        all_open = conn.execute("SELECT count(*) FROM cases WHERE status <> 'CLOSED'").fetchone()
    mine = [(status, float(delay)) for d, status, delay in cases if d in measured]
    case_delays = [delay * 1000 for _, delay in mine]
    version_delays = [float(delay) * 1000 for d, delay in versions if d in measured]
    open_cases = sum(1 for status, _ in mine if status != "CLOSED")
    withdrawn = len(mine) - open_cases
    open_on_topic = len(read_compacted(settings.kafka, topics.HITS))
    histogram = histogram_window(histogram_before, histogram_after)
    case_spread = spread(case_delays)
    send_seconds = report["send_seconds"] or args.seconds
    found = {
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "warmup_seconds": args.warmup_seconds,
        "risky_share": args.risky_share,
        "reference_data": {"aeo_records": args.aeo, "watchlist_entries": args.watchlist},
        "worker_ready_s": worker_ready_s,
        "warmup": {**warm_report, **warm_drain},
        **report,
        **drain,
        "hit_records": hit_records,
        "hits_per_s": round(hit_records / send_seconds, 1),
        "hit_share": round(hit_records / report["sent"], 4) if report["sent"] else None,
        "tombstones": len(hits) - hit_records,
        "hit_declarations": len(hit_declarations),
        "cases": len(mine),
        "open_cases": open_cases,
        "withdrawn_cases": withdrawn,
        "expected_open_cases": expected_open,
        "all_hits_ingested": drain["drained"] and open_cases == expected_open,
        "open_cases_in_db_all_phases": int(all_open[0]) if all_open else None,
        "open_referrals_on_topic_all_phases": open_on_topic,
        "workbench_group_lag_on_hits": group_lag(settings, bench.group, topics.HITS),
        "case_delay_ms": case_spread,
        "hit_version_delay_ms": spread(version_delays),
        "histogram": histogram,
        "worker_rss_mb": rss_mb(worker.pid),
        "workbench_rss_mb": rss_mb(bench.process.pid),
    }
    console.print(
        f"  {hit_records:,} hits ({found['hits_per_s']}/s), {len(mine):,} cases; case delay"
        f" p50 {case_spread['p50']} ms, p99 {case_spread['p99']} ms, max {case_spread['max']} ms;"
        f" histogram <= 2 s: {histogram['share_le_2_s']}"
    )
    bench.stop()
    stop_process(worker)
    return found


# --- targets, report, command ------------------------------------------------------------------


def evaluate(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The two targets; ``met`` is None when the phase did not produce its figures."""
    targets: dict[str, dict[str, Any]] = {}
    worklist = results.get("worklist", {})
    first = worklist.get("sizes", {}).get(str(results.get("cases")))
    targets["worklist_under_500_ms"] = {
        "target": f"p95 of every view < {WORKLIST_TARGET_MS:g} ms with "
        f"{results.get('cases', 0):,} open referrals",
        "value": first["worst_p95_ms"] if first else None,
        "met": first["all_p95_under_target"] if first else None,
    }
    ingest = results.get("ingest", {})
    p99 = (ingest.get("case_delay_ms") or {}).get("p99")
    share = (ingest.get("histogram") or {}).get("share_le_2_s")
    met = None
    if p99 is not None and share is not None:
        met = bool(
            ingest.get("all_hits_ingested") and p99 <= DELAY_TARGET_S * 1000 and share >= 0.99
        )
    targets["hit_to_worklist_under_2_s"] = {
        "target": f"all hits ingested; p99 of opened_at - assessed_at <= {DELAY_TARGET_S:g} s"
        f" and >= 99 % of {DELAY_HISTOGRAM} <= {DELAY_TARGET_S:g} s",
        "value": p99,
        "met": met,
    }
    return targets


def _met(met: bool | None) -> str:
    return {True: "**met**", False: "**not met**", None: "not measured"}[met]


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:,.1f} ms"


def _share(value: Any) -> str:
    return "-" if value is None else f"{value:.2%}"


def markdown(results: dict[str, Any]) -> str:
    box = results.get("machine", {})
    versions = results.get("versions", {})
    load = results.get("load_average", {})
    targets = results.get("targets", {})
    lines = [
        "# Workbench benchmark",
        "",
        f"Machine: {box.get('cores')} cores ({box.get('cpu_model')}), {box.get('system')}. "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if v)
        + ". PostgreSQL from deploy/postgres/postgres.sh with its default settings, one broker"
        f" with {results.get('partitions')} partitions, everything on this one machine.",
        f"Load average (1 min) {load.get('start')} before the run, {load.get('end')} at its end"
        " (which counts the benchmark's own broker, worker and workbench); the run took"
        f" {results.get('run_seconds')} s."
        + (
            " The load before the run was above the number of cores: other work shared the"
            " machine, so the figures are, if anything, pessimistic."
            if (load.get("start") or 0) > (box.get("cores") or 0)
            else ""
        ),
        "",
        "| target | value | |",
        "|---|---:|---|",
    ]
    for found in targets.values():
        value = found["value"]
        lines.append(f"| {found['target']} | {_ms(value)} | {_met(found['met'])} |")
    worklist = results.get("worklist", {})
    lines += [
        "",
        "## 1. Worklist render time",
        "",
        f"Status: {worklist.get('status', 'not run')}. A fresh database filled with open"
        " referrals (generated filings, outcomes DNL/HRCM/RFI about 10/35/55 %, loading times"
        " spread over the 48 h either side of now, default rules' ids, parties, containers; a"
        " referral row, the parties and an OPENED event each); a real `screening workbench`;"
        " the demo officer logged in over HTTP. Time from sending the request until the whole"
        f" body has arrived, {worklist.get('requests')} requests per view after"
        f" {worklist.get('warmups')} warm-ups, one at a time. `page` is the full page (GET /),"
        " `rows` the htmx fragment the page reloads every 2 s, `filtered` and `search` full"
        " pages; 100 rows a page.",
        "",
        "| open referrals | view | request | matching | bytes | p50 | p95 | max |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for size, found in worklist.get("sizes", {}).items():
        for name, view in found["views"].items():
            lines.append(
                f"| {int(size):,} | {name} | `GET {unquote(view['path'])}` | {view['matching']:,} "
                f"| {view['bytes']:,} | {_ms(view['p50_ms'])} | {_ms(view['p95_ms'])} "
                f"| {_ms(view['max_ms'])} |"
            )
    for size, found in worklist.get("sizes", {}).items():
        verdict = "under" if found["all_p95_under_target"] else "not under"
        lines.append("")
        lines.append(
            f"{int(size):,} open referrals (filled in {found['fill_s']} s): the slowest view's"
            f" p95 is {_ms(found['worst_p95_ms'])}, {verdict} {WORKLIST_TARGET_MS:g} ms"
            + (
                "."
                if int(size) == results.get("cases")
                else " (not a target; measured because it fit in the time)."
            )
        )
    if results.get("large_cases", 0) <= results.get("cases", 0):
        lines += ["", "The larger worklist was not measured in this run (--large-cases 0)."]
    ingest = results.get("ingest", {})
    lines += [
        "",
        "## 2. Hit to worklist",
        "",
        f"Status: {ingest.get('status', 'not run')}.",
    ]
    if "case_delay_ms" in ingest:
        reference = ingest["reference_data"]
        cases = ingest["case_delay_ms"]
        versions_delay = ingest["hit_version_delay_ms"]
        histogram = ingest["histogram"]
        lines += [
            "",
            f"`screening worker` (default rules, {reference['aeo_records']:,} AEO records,"
            f" {reference['watchlist_entries']:,} watch-list entries, as `make bench`) and a"
            " `screening workbench` on a fresh database; declarations from the load generator"
            f" (risky share {ingest['risky_share']:.0%}, amendments and invalidations as the"
            f" generator makes them) open loop at {ingest['rate_per_s']:,.0f}/s for"
            f" {ingest['seconds']:g} s, after {ingest['warmup_seconds']:g} s at that rate that"
            " are not measured.",
            "",
            f"- sent {ingest['sent']:,} in {ingest['send_seconds']} s (achieved"
            f" {ingest['achieved_rate_per_s']:,}/s, sender worst lateness"
            f" {ingest['sender_worst_lateness_ms']} ms)",
            f"- hits: {ingest['hit_records']:,} hit records, {ingest['hits_per_s']:,}/s"
            f" ({_share(ingest['hit_share'])} of the declarations), on"
            f" {ingest['hit_declarations']:,} declarations; {ingest['tombstones']:,} tombstones"
            " (the worker writes one for every later version that is no referral, and for every"
            " invalidation, whether or not an earlier version was a hit)",
            f"- cases opened: {ingest['cases']:,}, of which {ingest['withdrawn_cases']:,} were"
            f" withdrawn again; open now {ingest['open_cases']:,}, the hits topic says"
            f" {ingest['expected_open_cases']:,}; all hits ingested:"
            f" {'yes' if ingest['all_hits_ingested'] else 'NO'} (the workbench's offsets stored"
            " in PostgreSQL reached the end of the hits and assessments topics after"
            f" {ingest['drain_s']} s; its group's committed lag on the hits topic:"
            f" {ingest['workbench_group_lag_on_hits']})",
            "",
            "| delay | count | p50 | p95 | p99 | max |",
            "|---|---:|---:|---:|---:|---:|",
            f"| case opened: `cases.opened_at` - the opening hit's `assessed_at` "
            f"| {cases['count']:,} | {_ms(cases['p50'])} | {_ms(cases['p95'])} "
            f"| {_ms(cases['p99'])} | {_ms(cases['max'])} |",
            f"| every hit version: `referrals.received_at` - `assessed_at` "
            f"| {versions_delay['count']:,} | {_ms(versions_delay['p50'])} "
            f"| {_ms(versions_delay['p95'])} | {_ms(versions_delay['p99'])} "
            f"| {_ms(versions_delay['max'])} |",
            "",
            "Both are the ingest transaction's start (`now()`) minus the worker's assessment"
            " time: the commit is left out. The opening hit's `assessed_at` is used rather than"
            " `cases.assessed_at`, which an amendment moves to the newer version's.",
            "",
            f"The workbench's histogram `{DELAY_HISTOGRAM}` (after the commit), over the"
            f" measured phase: {histogram['count']:,} observations, mean"
            f" {histogram['mean_s']} s; at or under 0.5 s: {_share(histogram['share_le_0_5_s'])},"
            f" 1 s: {_share(histogram['share_le_1_s'])},"
            f" 2 s: {_share(histogram['share_le_2_s'])}.",
            "",
            f"RSS at the end: worker {ingest['worker_rss_mb']} MiB, workbench"
            f" {ingest['workbench_rss_mb']} MiB.",
        ]
    lines += [
        "",
        "## Commands",
        "",
        "```",
        "make bench-workbench        # = .venv/bin/python -m load_tests.workbench_bench",
        f"{results.get('command')}    # this run",
        "make bench-smoke            # includes tests/load_tests/test_workbench_bench_smoke.py:",
        "                            # 1,000 cases, 10 s at 100/s, results in a temp folder",
        "```",
        "",
    ]
    return "\n".join(lines)


def _default_rate(results: Path) -> float:
    try:
        rate = json.loads((results / "bench.json").read_text()).get("latency_rate_per_s")
    except (OSError, ValueError):
        return HALF_RATE_FALLBACK
    return float(rate) if rate else HALF_RATE_FALLBACK


def _parser() -> OneLineParser:
    parser = OneLineParser(prog="workbench_bench", description=__doc__)
    parser.add_argument("--cases", type=positive_int, default=10_000)
    parser.add_argument(
        "--large-cases",
        type=int,
        default=100_000,
        help="open referrals of the second, optional worklist measurement; 0 skips it",
    )
    parser.add_argument("--requests", type=positive_int, default=30)
    parser.add_argument("--warmups", type=int, default=3)
    parser.add_argument(
        "--rate", type=positive_float, help="declarations/s; default: bench.json's latency rate"
    )
    parser.add_argument("--seconds", type=positive_float, default=60.0)
    parser.add_argument("--warmup-seconds", type=positive_float, default=15.0)
    parser.add_argument("--risky-share", type=float, default=0.05)
    parser.add_argument("--aeo", type=positive_int, default=1_000_000)
    parser.add_argument("--watchlist", type=positive_int, default=100_000)
    parser.add_argument(
        "--drain-timeout", type=positive_float, default=300.0, help="seconds to work off a phase"
    )
    parser.add_argument("--skip-worklist", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".data" / "workbench-bench")
    return parser


def _phase(results: dict[str, Any], name: str, action: Callable[[], dict[str, Any]]) -> None:
    try:
        results[name] = {"status": "complete", **action()}
    except Exception as exc:
        traceback.print_exc()
        results[name] = {"status": f"failed: {type(exc).__name__}: {exc}"}


def _postgres_version(server_url: str) -> str | None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else None


def run(args: Any) -> dict[str, Any]:
    started = time.monotonic()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "cases": args.cases,
        "large_cases": args.large_cases,
        "partitions": PARTITIONS,
        "machine": machine(),
        "load_average": {"start": round(os.getloadavg()[0], 2)},
        "command": shlex.join(
            [".venv/bin/python", "-m", "load_tests.workbench_bench", *sys.argv[1:]]
        ),
    }
    with ExitStack() as stack:
        server_url = stack.enter_context(bench_postgres(args.work_dir))
        bootstrap = stack.enter_context(bench_broker(args.work_dir / "kafka"))
        settings = Settings(kafka_bootstrap=bootstrap, partitions=PARTITIONS)
        ensure_topics(settings)
        results["versions"] = {
            "python": sys.version.split()[0],
            "postgresql": _postgres_version(server_url),
            "kafka": kafka_version(),
            "psycopg": version("psycopg"),
            "fastapi": version("fastapi"),
            "uvicorn": version("uvicorn"),
        }
        if not args.skip_worklist:
            _phase(results, "worklist", lambda: worklist_phase(args, bootstrap, server_url, stack))
        if not args.skip_ingest:
            _phase(results, "ingest", lambda: ingest_phase(args, settings, server_url, stack))
    results["load_average"]["end"] = round(os.getloadavg()[0], 2)
    results["targets"] = evaluate(results)
    results["run_seconds"] = round(time.monotonic() - started, 1)
    return results


def _terminated(signum: int, _: object) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    args = _parser().parse_args()
    if args.rate is None:
        args.rate = _default_rate(args.results)
    if not 0 < args.risky_share <= 1:
        _parser().error("--risky-share must be in (0, 1]")
    # SIGTERM unwinds like Ctrl-C: every process started is stopped on the way out.
    signal.signal(signal.SIGTERM, _terminated)
    results = run(args)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "workbench.json").write_bytes(
        orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    report = markdown(results)
    (args.results / "workbench.md").write_text(report)
    print(report)
    failed = [
        name
        for name in ("worklist", "ingest")
        if str(results.get(name, {}).get("status", "complete")).startswith("failed")
    ]
    if failed:
        console.print(f"[red]failed: {', '.join(failed)}[/red]")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
