"""Soak: the pipeline fed at half its maximum rate for 10 minutes; memory and lag over time.

    .venv/bin/python -m load_tests.soak [--rate R] [--seconds 600] [--warmup-seconds 120]

The rate defaults to half of ``pipeline_per_s`` in load_tests/results/bench.json. Starts a
broker of its own, loads the reference data and the default rules as the benchmark does, starts
one worker, and sends open loop while sampling every 10 s the worker's RSS and its consumer
group's lag (committed offsets against end offsets). Writes soak.json and soak.md.

The feed starts with a warm-up at the same rate, sampled too but not judged: in its first
minutes the worker fills memory that is bounded by design (the tables' RocksDB write buffers
and block caches, the interpreter's arenas). Growth and lag are judged over the ``--seconds``
that follow; the report gives the growth from the first sample as well.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer

from load_tests.args import OneLineParser, positive_float, positive_int
from load_tests.bench import PARTITIONS, publish_ruleset, start_group_at_end, wait_ready
from load_tests.broker import bench_broker, free_port
from load_tests.loadgen import PayloadPool, send_open_loop
from load_tests.machine import machine
from load_tests.reference_startup import publish_reference_data
from load_tests.results import growth, lag_is_growing
from load_tests.topic_stats import count_since, end_offsets, group_lag
from load_tests.variants import rss_mb, stop_process
from pipeline import topics
from pipeline.kafka.producer import producer_config
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "load_tests" / "results"
SAMPLE_EVERY_S = 10.0
RSS_GROWTH_LIMIT = 0.10


def _default_rate(results: Path) -> float | None:
    try:
        rate = json.loads((results / "bench.json").read_text()).get("pipeline_per_s")
    except (OSError, ValueError):
        return None
    return float(rate) * 0.5 if rate else None


class Sampler:
    """Every ``every_s``: seconds since start, worker RSS, consumer-group lag (by committed
    offsets) and assessments written since the start (which does not wait for commits)."""

    def __init__(self, settings: Settings, group: str, pid: int, every_s: float) -> None:
        self.samples: list[dict[str, Any]] = []
        self._settings, self._group, self._pid, self._every_s = settings, group, pid, every_s
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._assessments_at_start = end_offsets(settings, topics.ASSESSMENTS)
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def sample(self) -> None:
        self.samples.append(
            {
                "t_s": round(time.monotonic() - self._started, 1),
                "rss_mb": rss_mb(self._pid),
                "lag": group_lag(self._settings, self._group, topics.DECLARATIONS),
                "assessed": count_since(
                    self._settings, topics.ASSESSMENTS, self._assessments_at_start
                ),
            }
        )

    def _run(self) -> None:
        self.sample()
        while not self._stop.wait(self._every_s):
            self.sample()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        self.sample()


def summary(samples: list[dict[str, Any]], warmup_s: float = 0.0) -> dict[str, Any]:
    """Memory growth and lag over the samples taken after ``warmup_s``."""
    all_rss = [s["rss_mb"] for s in samples if s["rss_mb"]]
    judged = [s for s in samples if s["t_s"] >= warmup_s]
    rss = [s["rss_mb"] for s in judged if s["rss_mb"]]
    lags = [s["lag"] for s in judged if s["lag"] is not None]
    rss_growth = growth(rss[0], rss[-1]) if len(rss) >= 2 else None
    growing = lag_is_growing(lags)
    return {
        "rss_first_mb": all_rss[0] if all_rss else None,
        "rss_growth_from_first": (
            round(growth(all_rss[0], all_rss[-1]), 4) if len(all_rss) >= 2 else None
        ),
        "rss_start_mb": rss[0] if rss else None,
        "rss_end_mb": rss[-1] if rss else None,
        "rss_growth": round(rss_growth, 4) if rss_growth is not None else None,
        "rss_growth_met": rss_growth is not None and rss_growth <= RSS_GROWTH_LIMIT,
        "max_lag": max(lags) if lags else None,
        "lag_growing": growing,
        "lag_met": bool(lags) and not growing,
    }


def markdown(found: dict[str, Any]) -> str:
    lines = [
        "# Soak",
        "",
        f"{found['seconds']:.0f} s open loop at {found['rate_per_s']:,.0f} declarations/s, "
        f"after a warm-up of {found['warmup_seconds']:.0f} s at the same rate "
        f"({found['sent']:,} sent in all; sender worst lateness "
        f"{found['sender_worst_lateness_ms']} ms).",
        "",
        f"- worker RSS: {found['rss_start_mb']} MiB at the start of the {found['seconds']:.0f} s, "
        f"{found['rss_end_mb']} MiB at the end ({(found['rss_growth'] or 0):+.1%}; target "
        f"<= +10 %: {'met' if found['rss_growth_met'] else 'not met'}); "
        f"{found['rss_first_mb']} MiB when the warm-up began "
        f"({(found['rss_growth_from_first'] or 0):+.1%} from there to the end)",
        f"- lag: at most {found['max_lag']}; growing: {found['lag_growing']} "
        f"(target: no growing lag: {'met' if found['lag_met'] else 'not met'})",
        "",
        "t counts from the start of the warm-up.",
        "",
        "| t (s) | RSS MiB | lag | assessed |",
        "|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {s['t_s']} | {s['rss_mb']} | {s['lag']} | {s['assessed']} |" for s in found["samples"]
    ]
    return "\n".join(lines) + "\n"


def run(args: Any, rate: float) -> dict[str, Any]:
    args.work_dir.mkdir(parents=True, exist_ok=True)
    with bench_broker(args.work_dir / "kafka") as bootstrap:
        settings = Settings(kafka_bootstrap=bootstrap, partitions=PARTITIONS)
        env = {"SCREENING_KAFKA_BOOTSTRAP": bootstrap, "SCREENING_PARTITIONS": str(PARTITIONS)}
        subprocess.run(
            [sys.executable, "-m", "pipeline", "topics", "ensure"],
            cwd=ROOT,
            env={**os.environ, **env},
            check=True,
            timeout=120,
        )
        publish_reference_data(settings, args.aeo, args.watchlist)
        publish_ruleset(settings, ROOT / "rules")
        group = f"soak-{uuid.uuid4().hex[:6]}"
        start_group_at_end(settings, group)
        worker_env = {
            **env,
            "SCREENING_APP_ID": group,
            "SCREENING_WEB_PORT": str(free_port()),
            "SCREENING_DATA_DIR": str(args.work_dir / "state"),
        }
        log_path = args.work_dir / "soak-worker.log"
        with log_path.open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "pipeline", "worker"],
                cwd=ROOT,
                env={**os.environ, **worker_env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_ready(worker, log_path)
            count = round(rate * (args.warmup_seconds + args.seconds))
            pool = PayloadPool(min(count, 50_000), seed=7)
            sampler = Sampler(settings, group, worker.pid, SAMPLE_EVERY_S)
            sampler.start()
            report = send_open_loop(
                Producer(producer_config(settings.kafka)), pool.take(count), count, rate, None, True
            )
            sampler.stop()
        finally:
            stop_process(worker)
    return {
        "rate_per_s": rate,
        "seconds": args.seconds,
        "warmup_seconds": args.warmup_seconds,
        **report.as_json(),
        **summary(sampler.samples, args.warmup_seconds),
        "samples": sampler.samples,
        "machine": machine(),
    }


def main() -> None:
    parser = OneLineParser(prog="soak", description=__doc__)
    parser.add_argument("--rate", type=positive_float, help="default: half of bench.json's")
    parser.add_argument("--seconds", type=positive_float, default=600.0)
    parser.add_argument(
        "--warmup-seconds",
        type=positive_float,
        default=120.0,
        help="seconds at the same rate before the judged ones (bounded caches fill)",
    )
    parser.add_argument("--aeo", type=positive_int, default=1_000_000)
    parser.add_argument("--watchlist", type=positive_int, default=100_000)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".data" / "soak")
    args = parser.parse_args()
    rate = args.rate or _default_rate(args.results)
    if rate is None:
        parser.error("no --rate given and no pipeline_per_s in bench.json; run make bench first")
    found = run(args, rate)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "soak.json").write_bytes(
        orjson.dumps(found, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    (args.results / "soak.md").write_text(markdown(found))
    print(markdown(found))


if __name__ == "__main__":
    main()
