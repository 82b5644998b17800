"""Throughput with 1, 2 and 3 workers in one consumer group, on one broker.

    .venv/bin/python -m load_tests.scale [--declarations 100000] [--workers 1 2 3]

Starts a broker of its own with 12 partitions, publishes the default rules and reference data,
then for each worker count: starts that many `screening worker` processes in a new consumer
group that reads only what is sent from then on, waits until every worker is ready and the
12 partitions are spread over all of them, fills the declarations topic with the same input as
the benchmark, and measures assessments per second by the broker's timestamps, from the first
to the last. Every worker runs on the same machine as the broker and the filler, so on a small
machine the figures show how the CPU is shared, not how a cluster scales. Writes scale.json and
scale.md to --results.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from load_tests.args import OneLineParser, positive_float, positive_int
from load_tests.bench import fill_input, publish_ruleset, start_group_at_end, wait_ready
from load_tests.broker import bench_broker, free_port
from load_tests.machine import machine
from load_tests.reference_startup import publish_reference_data
from load_tests.results import OutputWindow
from load_tests.topic_stats import count_since, end_offsets, output_window, use_log_append_time
from load_tests.variants import rss_mb, stop_process
from load_tests.worker_metrics import assigned_partitions, spread_over_all
from pipeline import topics
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PARTITIONS = 12
console = Console(stderr=True)


def _parser() -> OneLineParser:
    parser = OneLineParser(prog="scale", description=__doc__)
    parser.add_argument("--declarations", type=positive_int, default=100_000)
    parser.add_argument("--workers", type=positive_int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--aeo", type=positive_int, default=100_000)
    parser.add_argument("--watchlist", type=positive_int, default=10_000)
    parser.add_argument("--timeout", type=positive_float, default=300.0, help="per worker count")
    parser.add_argument("--results", type=Path, default=ROOT / "load_tests" / "results")
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".data" / "scale")
    return parser


class Worker:
    def __init__(self, settings: Settings, group: str, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log_path = workdir / "worker.log"
        env = {
            **os.environ,
            "SCREENING_KAFKA_BOOTSTRAP": settings.kafka.servers,
            "SCREENING_PARTITIONS": str(PARTITIONS),
            "SCREENING_APP_ID": group,
            "SCREENING_WEB_PORT": str(self.port),
            "SCREENING_DATA_DIR": str(workdir / "state"),
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipeline", "worker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )


def wait_spread(workers: list[Worker], timeout_s: float) -> list[list[int]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        owned = [assigned_partitions(worker.port) for worker in workers]
        if spread_over_all(owned, PARTITIONS):
            return [sorted(partitions) for partitions in owned]
        time.sleep(1.0)
    raise TimeoutError(f"partitions not spread over {len(workers)} workers in {timeout_s:.0f} s")


def measure(settings: Settings, count: int, workers: int, args: Any) -> dict[str, Any]:
    group = f"scale-{workers}-{uuid.uuid4().hex[:6]}"
    start_group_at_end(settings, group)
    started = [
        Worker(settings, group, args.work_dir / f"{workers}-workers" / f"worker-{index}")
        for index in range(workers)
    ]
    try:
        for worker in started:
            wait_ready(worker.process, worker.log_path)
        assignment = wait_spread(started, args.timeout)
        starts = {t: end_offsets(settings, t) for t in (topics.ASSESSMENTS, topics.DLQ)}
        fill = fill_input(settings, count)
        deadline = time.monotonic() + args.timeout
        written = 0
        while written < count and time.monotonic() < deadline:
            time.sleep(0.5)
            written = sum(count_since(settings, t, starts[t]) for t in starts)
        memory = [rss_mb(worker.process.pid) for worker in started]
    finally:
        for worker in started:
            stop_process(worker.process)
    window = OutputWindow.merge(output_window(settings, t, starts[t]) for t in starts)
    return {
        "status": "complete" if written >= count else f"partial: {written} of {count}",
        "per_s": round(window.per_s, 1) if window.per_s else None,
        "outputs": window.count,
        "measured_s": round(window.seconds, 3),
        "partitions_per_worker": assignment,
        "worker_rss_mb": memory,
        "fill_s": fill["fill_s"],
    }


def markdown(found: dict[str, Any]) -> str:
    lines = [
        "# Scale-out: throughput with more workers in one group",
        "",
        f"{found['declarations']:,} declarations per run, {PARTITIONS} partitions, "
        f"machine: {found['machine'].get('cores')} cores, {found['machine'].get('cpu_model')}.",
        "All workers, the broker and the filler share this machine.",
        "",
        "| workers | declarations/s | vs 1 worker | partitions per worker | status |",
        "|---|---|---|---|---|",
    ]
    single = found["runs"].get("1", {}).get("per_s")
    for workers, run in found["runs"].items():
        rate = run.get("per_s")
        ratio = f"{rate / single:.2f}" if rate and single else "-"
        spread = " / ".join(str(len(p)) for p in run.get("partitions_per_worker", []))
        shown = f"{rate:,.0f}" if rate else "-"
        lines.append(f"| {workers} | {shown} | {ratio} | {spread} | {run['status']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = _parser().parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    runs: dict[str, Any] = {}
    with bench_broker(args.work_dir / "kafka") as bootstrap:
        settings = Settings(kafka_bootstrap=bootstrap, partitions=PARTITIONS)
        subprocess.run(
            [sys.executable, "-m", "pipeline", "topics", "ensure"],
            cwd=ROOT,
            env={
                **os.environ,
                "SCREENING_KAFKA_BOOTSTRAP": bootstrap,
                "SCREENING_PARTITIONS": str(PARTITIONS),
            },
            check=True,
            timeout=300,
        )
        use_log_append_time(settings, [topics.ASSESSMENTS, topics.DLQ])
        publish_reference_data(settings, args.aeo, args.watchlist)
        publish_ruleset(settings, ROOT / "rules")
        for workers in args.workers:
            console.print(f"[bold]{workers} worker(s)[/bold] ...")
            try:
                runs[str(workers)] = measure(settings, args.declarations, workers, args)
            except (RuntimeError, TimeoutError) as exc:
                runs[str(workers)] = {"status": f"failed: {exc}"}
            console.print(f"  {runs[str(workers)]}")
    found = {"declarations": args.declarations, "machine": machine(), "runs": runs}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "scale.json").write_bytes(
        orjson.dumps(found, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    (args.results / "scale.md").write_text(markdown(found))
    console.print(markdown(found))


if __name__ == "__main__":
    main()
