"""Where the worker's CPU goes, in place: one worker screening a backlog on a real broker,
sampled by py-spy, with every thread's CPU time read from /proc.

    .venv/bin/python -m load_tests.profile_worker [--declarations 200000] [--pin]

Starts a broker of its own, publishes the reference data (as the benchmark) and the default
rules, generates the input in memory (the benchmark's seed), starts a worker whose group starts
at the input's end, and once it is ready attaches py-spy and writes the input, so that only
screening is sampled. Writes ``profile.json`` (CPU seconds per thread group, samples per part
and per function) and ``profile.md`` (the tables) to --results, and py-spy's collapsed stacks to
--work-dir. ``--pin`` runs the broker on core 0 and the worker on core 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer
from rich.console import Console

from load_tests.args import OneLineParser, positive_int
from load_tests.bench import (
    JOINED_TOPICS,
    PARTITIONS,
    publish_ruleset,
    start_group_at_end,
    wait_ready,
)
from load_tests.broker import bench_broker, free_port
from load_tests.cpu_share import stat_cpu_s
from load_tests.reference_startup import publish_reference_data
from load_tests.topic_stats import count_since, end_offsets
from load_tests.variants import stop_process
from pipeline import topics
from pipeline.kafka.producer import produce_waiting, producer_config
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
console = Console(stderr=True)

# A sample belongs to the first part whose marker is in its stack, read from the innermost
# frame outwards: the innermost named part is where the time is spent.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("decode (msgspec, checks)", ("screening/decode.py",)),
    ("enrich (AEO, watch list)", ("screening/enrich.py", "pipeline/reference/")),
    ("rules (frames, Polars)", ("pipeline/rules/", "polars/")),
    ("version ledger", ("screening/ledger.py", "screening/versions.py", "worker/ledger.py")),
    ("assess and encode", ("screening/batch.py", "screening/outcome.py", "screening/summary.py")),
    (
        "examination join",
        (
            "pipeline/feedback/",
            "worker/feedback.py",
            "worker/join_table.py",
            "worker/screened_join.py",
        ),
    ),
    ("tables (RocksDB, changelog)", ("worker/table_store.py", "rocksdict", "faust/stores")),
    ("produce, flush", ("pipeline/kafka/producer.py", "worker/checkpoint.py")),
    ("metrics, lag", ("pipeline/metrics", "prometheus_client", "worker/lag.py")),
    ("batch loop, records", ("worker/loop.py", "worker/screening_handler.py")),
    ("transport, offsets", ("worker/transport.py", "worker/faust_adapter.py")),
    ("aiokafka fetch", ("aiokafka/",)),
    ("faust streams, agents", ("faust/", "mode/")),
    ("asyncio event loop", ("asyncio/",)),
    ("threads", ("threading.py", "concurrent/futures")),
)


@dataclass(frozen=True)
class ThreadCpu:
    name: str
    seconds: float


def thread_cpu(pid: int) -> dict[int, ThreadCpu]:
    """CPU seconds (user + system) of every thread of ``pid``, by thread id."""
    found: dict[int, ThreadCpu] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        found[int(task.name)] = ThreadCpu(name, stat_cpu_s(stat))
    return found


def thread_group(tid: int, pid: int, name: str) -> str:
    if tid == pid:
        return "main thread (event loop, screening)"
    if name.startswith("rdk:"):
        return "librdkafka threads"
    if name.startswith("rocksdb") or name.startswith("bg"):
        return "RocksDB threads"
    return "other Python threads (aiokafka consumer thread, mirrors, to_thread)"


def cpu_by_group(
    pid: int, before: dict[int, ThreadCpu], after: dict[int, ThreadCpu]
) -> dict[str, float]:
    groups: dict[str, float] = {}
    for tid, cpu in after.items():
        spent = cpu.seconds - (before[tid].seconds if tid in before else 0.0)
        group = thread_group(tid, pid, cpu.name)
        groups[group] = groups.get(group, 0.0) + spent
    return dict(sorted(groups.items(), key=lambda item: -item[1]))


# A thread blocked in these is waiting, not running: py-spy's sampling without blocking the
# process still catches some of them (seconds of samples that /proc counts as no CPU).
WAITING = "waiting (not CPU)"
_WAITING_LEAVES = ("selectors.py", "threading.py", "queue.py")


def part_of(stack: str) -> str:
    frames = stack.split(";")
    if any(leaf in frames[-1] for leaf in _WAITING_LEAVES):
        return WAITING
    for frame in reversed(frames):
        for part, markers in PARTS:
            if any(marker in frame for marker in markers):
                return part
    return "other"


def samples_by_part(collapsed: Iterable[str]) -> tuple[Counter[str], Counter[str]]:
    """Samples per part, for the main thread and for the other threads."""
    main: Counter[str] = Counter()
    other: Counter[str] = Counter()
    for line in collapsed:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue  # a frame's name that runs over lines
        target = main if "MainThread" in stack.split(";", 1)[0] else other
        target[part_of(stack)] += int(count)
    return main, other


def top_functions(collapsed: Iterable[str], count: int = 30) -> dict[str, int]:
    """Samples in which each of the project's and its libraries' functions was on the stack
    (inclusive), all threads, the ``count`` most frequent."""
    inclusive: Counter[str] = Counter()
    for line in collapsed:
        stack, _, samples = line.rstrip().rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        seen = set()
        for frame in stack.split(";")[1:]:
            function, _, where = frame.partition(" (")
            name = f"{where.split(':')[0]}:{function}"
            if name not in seen and name.startswith(_OWN):
                seen.add(name)
                inclusive[name] += int(samples)
    return dict(inclusive.most_common(count))


_OWN = ("pipeline/", "polars/", "faust/", "aiokafka/", "mode/")


def _fill(settings: Settings, messages: list[tuple[bytes, bytes]]) -> float:
    producer = Producer(producer_config(settings.kafka))
    started = time.monotonic()
    for key, value in messages:
        produce_waiting(producer, topics.DECLARATIONS, value, key)
    if producer.flush(120):
        raise RuntimeError("the input was not fully written")
    return time.monotonic() - started


def _taskset(core: int | None) -> list[str]:
    return [] if core is None else ["taskset", "-c", str(core)]


def profile(args: Any) -> dict[str, Any]:
    work: Path = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    generator = DeclarationGenerator(GeneratorConfig(seed=42, risky_share=0.05))
    messages = [(m.key, m.value) for m in generator.messages(args.declarations)]
    with bench_broker(work / "kafka") as bootstrap:
        if args.pin:
            broker_pid = (work / "kafka" / "broker.pid").read_text().strip()
            subprocess.run(["taskset", "-a", "-cp", "0", broker_pid], check=True)
        settings = Settings(kafka_bootstrap=bootstrap, partitions=PARTITIONS)
        env = {
            **os.environ,
            "SCREENING_KAFKA_BOOTSTRAP": bootstrap,
            "SCREENING_PARTITIONS": str(PARTITIONS),
            "SCREENING_APP_ID": f"profile-{uuid.uuid4().hex[:6]}",
            "SCREENING_WEB_PORT": str(free_port()),
            "SCREENING_DATA_DIR": str(work / "state"),
        }
        subprocess.run(
            [sys.executable, "-m", "pipeline", "topics", "ensure"], env=env, check=True, cwd=ROOT
        )
        publish_reference_data(settings, args.aeo, args.watchlist)
        publish_ruleset(settings, ROOT / "rules")
        start_group_at_end(settings, env["SCREENING_APP_ID"], (topics.DECLARATIONS, *JOINED_TOPICS))
        log_path = work / "worker.log"
        command = [*_taskset(1 if args.pin else None), sys.executable, "-m", "pipeline", "worker"]
        with log_path.open("wb") as log:
            worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            wait_ready(worker, log_path)
            time.sleep(5)
            start = end_offsets(settings, topics.ASSESSMENTS)
            raw = work / "profile.collapsed.txt"
            spy_log = (work / "py-spy.log").open("wb")
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(worker.pid),
                    "--format",
                    "raw",
                    "--threads",
                    "--nonblocking",
                    "--rate",
                    str(args.rate),
                    "--output",
                    str(raw),
                ],
                stdout=spy_log,
                stderr=spy_log,
            )
            time.sleep(1)
            before = thread_cpu(worker.pid)
            began = time.monotonic()
            fill_s = _fill(settings, messages)
            while count_since(settings, topics.ASSESSMENTS, start) < args.declarations:
                if worker.poll() is not None:
                    raise RuntimeError(f"worker exited (see {log_path})")
                time.sleep(0.2)
            wall = time.monotonic() - began
            after = thread_cpu(worker.pid)
            spy.send_signal(2)  # py-spy writes its samples on Ctrl-C
            spy_exit = spy.wait(timeout=60)
        finally:
            stop_process(worker)
    groups = cpu_by_group(worker.pid, before, after)
    if not raw.exists():
        raise RuntimeError(f"py-spy exited with {spy_exit} and wrote no samples")
    collapsed = raw.read_text(errors="replace").splitlines()
    main, other = samples_by_part(collapsed)
    return {
        "declarations": args.declarations,
        "pinned": args.pin,
        "wall_s": round(wall, 2),
        "fill_s": round(fill_s, 2),
        "per_s": round(args.declarations / wall, 1),
        "cpu_s_by_thread_group": {k: round(v, 2) for k, v in groups.items()},
        "main_thread_samples_by_part": dict(main.most_common()),
        "other_thread_samples_by_part": dict(other.most_common()),
        "top_functions_inclusive_samples": top_functions(collapsed),
    }


MAIN_GROUP = "main thread (event loop, screening)"
OTHER_GROUP = "other Python threads (aiokafka consumer thread, mirrors, to_thread)"


def cpu_by_part(found: dict[str, Any]) -> dict[str, float]:
    """The worker's CPU seconds by part: each Python thread group's CPU shared out by its
    samples, the native thread groups (librdkafka, RocksDB) as they are."""
    groups = found["cpu_s_by_thread_group"]
    parts: Counter[str] = Counter()
    for group, samples in (
        (MAIN_GROUP, found["main_thread_samples_by_part"]),
        (OTHER_GROUP, found["other_thread_samples_by_part"]),
    ):
        running = {part: count for part, count in samples.items() if part != WAITING}
        total = sum(running.values())
        for part, count in running.items():
            parts[part] += groups.get(group, 0.0) * count / total if total else 0.0
    for group, seconds in groups.items():
        if group not in (MAIN_GROUP, OTHER_GROUP):
            parts[group] += seconds
    return dict(parts.most_common())


def markdown(found: dict[str, Any]) -> str:
    n = found["declarations"]
    groups = found["cpu_s_by_thread_group"]
    total_cpu = sum(groups.values())

    def us(seconds: float) -> str:
        return f"{seconds / n * 1e6:.1f}"

    lines = [
        "# The worker in place",
        "",
        f"{n:,} declarations screened from a backlog in {found['wall_s']} s"
        f" ({found['per_s']:,.0f}/s); worker CPU {total_cpu:.1f} s"
        f" = {total_cpu / n * 1e6:.0f} µs per declaration"
        + (" (worker pinned to core 1, broker to core 0)." if found["pinned"] else "."),
        "",
        "| thread group | CPU s | µs per declaration | share |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {group} | {seconds:.2f} | {us(seconds)} | {seconds / total_cpu:.0%} |"
        for group, seconds in groups.items()
    ]
    lines += [
        "",
        "By part, all threads: each Python thread group's CPU shared out by its py-spy samples"
        " (a sample is the part of its innermost frame that names one; samples of a thread"
        " waiting in select or on a lock are left out):",
        "",
        "| part | µs per declaration | share of the worker's CPU |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {part} | {us(seconds)} | {seconds / total_cpu:.1%} |"
        for part, seconds in cpu_by_part(found).items()
    ]
    for title, key in (
        ("Main thread", "main_thread_samples_by_part"),
        ("Other Python threads", "other_thread_samples_by_part"),
    ):
        lines += ["", f"{title} by part (samples):", "", "| part | samples |", "|---|---:|"]
        lines += [f"| {part} | {count} |" for part, count in found[key].items()]
    top = found.get("top_functions_inclusive_samples", {})
    lines += ["", "Functions on the stack (all threads, inclusive samples):", ""]
    lines += ["| function | samples |", "|---|---:|"]
    lines += [f"| `{name}` | {count} |" for name, count in top.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = OneLineParser(prog="profile_worker", description=__doc__)
    parser.add_argument("--declarations", type=positive_int, default=200_000)
    parser.add_argument("--aeo", type=positive_int, default=1_000_000)
    parser.add_argument("--watchlist", type=positive_int, default=100_000)
    parser.add_argument("--rate", type=positive_int, default=200, help="py-spy samples per s")
    parser.add_argument("--pin", action="store_true")
    parser.add_argument("--results", type=Path, default=ROOT / "load_tests" / "results")
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".data" / "profile-work")
    args = parser.parse_args()
    args.results.mkdir(parents=True, exist_ok=True)
    found = profile(args)
    (args.results / "profile.json").write_bytes(orjson.dumps(found, option=orjson.OPT_INDENT_2))
    (args.results / "profile.md").write_text(markdown(found))
    console.print(markdown(found))


if __name__ == "__main__":
    main()
