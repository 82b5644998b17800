"""The benchmark: the pipeline side by side with its baselines, one broker, the same input.

    .venv/bin/python -m load_tests.bench [--declarations 200000] [--rounds 3] [--latency-seconds 60]

Starts a broker of its own (free ports, data under --work-dir), creates the topics with 12
partitions, fills the declarations topic once (fixed seed, 5 % risky) and publishes the
reference data: 1,000,000 random AEO records and 100,000 random watch-list entries (the size
of the worker's copy in service), plus the AEO registry of the generator that made the input
and watch-list entries for 1 % of its companies (``input_reference``: data the declarations
actually hit). Every run reads that input with a consumer group of its own.

``passthrough``, ``quixstreams`` and ``pipeline`` run in --rounds alternated rounds (round 1:
passthrough, quixstreams, pipeline; round 2: the same; ...), so that a machine that drifts
(another load, a warm page cache, the broker's own compactions) moves all three alike. Their
``<name>_per_s`` in bench.json is the median of the rounds, with the rates of every round and
their range beside it; ``worker_rss_mb`` is that of the pipeline round that gives the median
(the closest to it when the rounds measured are even). Then, once each: naive_faust,
metrics_off, pipeline_pinned (the broker on core 0, the worker on core 1: capacity per core),
latency (the open-loop generator at half the pipeline's median rate, latency from each
message's scheduled send time, with the latency probe; the cores the machine, the worker, the
broker and the load generator used meanwhile, and the worker's batches: ``cpu_share``) and
pipeline_1000_rules (which reads the latency phase's declarations too, after the input).
Writes bench.json, bench.md and bench.png to --results.

Duration at the defaults (2 cores, from earlier runs): broker, input and reference data about
2 min; per round passthrough ~10 s, quixstreams <= 60 s of measuring cap plus ~5 s start,
pipeline ~80 s including its start (loading the reference data), so ~2.5 min a round and
~8 min for three; naive_faust ~65 s (capped), metrics_off ~85 s, pipeline_pinned ~90 s
(capped), latency ~2 min (start, 15 s warm-up, 60 s measured, drain), pipeline_1000_rules ~90 s:
about 16 minutes in all, under 20.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from rich.console import Console

from load_tests.args import OneLineParser, positive_float, positive_int
from load_tests.broker import bench_broker, free_port
from load_tests.cpu_share import CpuSnapshot, cores_used, snapshot
from load_tests.input_reference import names_in, publish_input_reference, watchlist_entries
from load_tests.loadgen import run_with_probe
from load_tests.machine import machine, versions
from load_tests.quix_env import quix_python, quix_version
from load_tests.reference_startup import publish_reference_data
from load_tests.report import write_chart, write_markdown
from load_tests.results import Rounds, evaluate_targets
from load_tests.synthetic_rules import write_rule_folder
from load_tests.topic_stats import create_output_topic, end_offsets, use_log_append_time
from load_tests.variants import VariantResult, VariantSpec, run_variant, stop_process
from load_tests.worker_metrics import batch_means, batch_totals
from pipeline import topics
from pipeline.kafka.producer import produce_waiting, producer_config
from pipeline.kafka.reader import read_compacted
from pipeline.rules.loader import load_ruleset
from pipeline.rules.publish import ruleset_records
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.settings import VARIABLES, Settings

ROOT = Path(__file__).resolve().parents[1]
PARTITIONS = 12
INPUT_SEED = 42
LATENCY_SEED = 4242
# Run in alternated rounds, in this order within a round; every other variant runs once.
ALTERNATED = ("passthrough", "quixstreams", "pipeline")
_READY_TIMEOUT_S = 300.0
console = Console(stderr=True)


def _parser() -> OneLineParser:
    parser = OneLineParser(prog="bench", description=__doc__)
    parser.add_argument("--declarations", type=positive_int, default=200_000)
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=3,
        help="alternated rounds of passthrough, quixstreams and pipeline (median reported)",
    )
    parser.add_argument("--latency-seconds", type=positive_float, default=60.0)
    parser.add_argument(
        "--warmup-seconds",
        type=positive_float,
        default=15.0,
        help="seconds at the latency rate before measuring (caches fill, the group settles)",
    )
    parser.add_argument("--aeo", type=positive_int, default=1_000_000)
    parser.add_argument("--watchlist", type=positive_int, default=100_000)
    parser.add_argument("--rules", type=positive_int, default=1000, help="for pipeline_1000_rules")
    parser.add_argument("--results", type=Path, default=ROOT / "load_tests" / "results")
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".data" / "bench")
    parser.add_argument(
        "--variant-timeout", type=positive_float, default=300.0, help="seconds before failing"
    )
    parser.add_argument(
        "--measure-cap",
        type=positive_float,
        default=60.0,
        help="seconds of output after which a variant is stopped and its rate taken as is",
    )
    return parser


def _run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, check=True, timeout=600)


def input_generator() -> DeclarationGenerator:
    """The generator of the input; its companies and their AEO registry follow from the seed."""
    return DeclarationGenerator(GeneratorConfig(seed=INPUT_SEED, risky_share=0.05))


def fill_input(
    settings: Settings,
    count: int,
    generator: DeclarationGenerator | None = None,
    listed: Sequence[str] = (),
) -> dict[str, Any]:
    """The one input of every variant: ``count`` declarations of ``generator`` (the input's,
    ``input_generator()``, by default); how many of them name a company in ``listed``."""
    generator = generator or input_generator()
    producer = Producer(producer_config(settings.kafka))
    risky = naming_listed = 0
    started = time.monotonic()
    for message in generator.messages(count):
        risky += message.risky
        naming_listed += names_in(message.value, listed)
        produce_waiting(producer, topics.DECLARATIONS, message.value, message.key)
    if producer.flush(120):
        raise RuntimeError("the input was not fully written")
    return {
        "risky_share": round(risky / count, 4),
        "naming_listed_company": naming_listed,
        "fill_s": round(time.monotonic() - started, 1),
    }


def _rate(value: float | None) -> float | None:
    return round(value, 1) if value else None


class Bench:
    """One run: the broker's settings, the work folder, and the results as they come."""

    def __init__(self, settings: Settings, args: Any, quix: Path, broker_dir: Path) -> None:
        self.settings = settings
        self.args = args
        self.quix = quix
        self.work: Path = args.work_dir
        self.broker_dir = broker_dir
        self.results: dict[str, Any] = {"variants": {}}
        self._output_topics: set[str] = set()

    def _env(self) -> dict[str, str]:
        return {
            "SCREENING_KAFKA_BOOTSTRAP": self.settings.kafka.servers,
            "SCREENING_PARTITIONS": str(PARTITIONS),
        }

    def measure(self, spec: VariantSpec, label: str | None = None) -> VariantResult:
        """Run one variant; ``label`` names its log and its line (a round of it)."""
        label = label or spec.name
        console.print(f"[bold]{label}[/bold] ...")
        result = run_variant(
            self.settings,
            spec,
            self.args.declarations,
            self.work / f"{label}.log",
            self.args.variant_timeout,
            self.args.measure_cap,
        )
        rate = f"{result.per_s:,.0f}/s" if result.per_s else "-"
        console.print(f"  {label}: {rate} ({result.status}, {result.window.count:,} outputs)")
        return result

    def record(self, result: VariantResult) -> None:
        """The result of a variant that runs once."""
        self.results["variants"][result.name] = result.as_json()
        self.results[f"{result.name}_per_s"] = _rate(result.per_s)

    def record_rounds(self, name: str, runs: list[VariantResult]) -> int:
        """The rounds of an alternated variant: the median as its rate, every round's rate and
        the range beside it. Returns the index of the run that gives the median (the last if
        none does)."""
        rounds = Rounds(tuple(run.per_s for run in runs))
        index = rounds.median_round()
        chosen = runs[-1] if index is None else runs[index]
        statuses = [run.status for run in runs]
        status = (
            statuses[0]
            if len(set(statuses)) == 1
            else "; ".join(f"round {i}: {s}" for i, s in enumerate(statuses, 1))
        )
        rates = [_rate(run.per_s) for run in runs]
        spread = [_rate(rounds.low), _rate(rounds.high)]
        self.results["variants"][name] = {
            **chosen.as_json(),
            "status": status,
            "per_s": _rate(rounds.median),
            "median_round": None if index is None else index + 1,
            "rates_per_s": rates,
            "range_per_s": spread,
            "rounds": [run.as_json() for run in runs],
        }
        self.results[f"{name}_per_s"] = _rate(rounds.median)
        self.results[f"{name}_rates_per_s"] = rates
        self.results[f"{name}_range_per_s"] = spread
        return len(runs) - 1 if index is None else index

    def baseline_spec(self, name: str, command: list[str]) -> VariantSpec:
        output = f"bench.{name}.v1"
        if output not in self._output_topics:
            create_output_topic(self.settings, output, PARTITIONS)
            self._output_topics.add(output)
        group = f"bench-{name}-{uuid.uuid4().hex[:6]}"
        common = ["--bootstrap", self.settings.kafka.servers, "--group", group]
        common += ["--input", topics.DECLARATIONS, "--output", output]
        return VariantSpec(name, command + common, [output])

    def passthrough_spec(self) -> VariantSpec:
        return self.baseline_spec(
            "passthrough", [sys.executable, "-m", "load_tests.baselines.passthrough"]
        )

    def quixstreams_spec(self) -> VariantSpec:
        quix_state = str(self.work / "quix-state")
        command = [str(self.quix), "-m", "load_tests.baselines.quix_screening"]
        return self.baseline_spec("quixstreams", [*command, "--state-dir", quix_state])

    def naive_faust_spec(self) -> VariantSpec:
        command = [sys.executable, "-m", "load_tests.baselines.naive_faust"]
        command += ["--data-dir", str(self.work / "naive_faust"), "--web-port", str(free_port())]
        return self.baseline_spec("naive_faust", [*command, "--partitions", str(PARTITIONS)])

    def alternated(self) -> None:
        """passthrough, quixstreams, pipeline; again; ... each run a fresh group."""
        specs: dict[str, Callable[[], VariantSpec]] = {
            "passthrough": self.passthrough_spec,
            "quixstreams": self.quixstreams_spec,
            "pipeline": lambda: self.pipeline_spec("pipeline"),
        }
        runs: dict[str, list[VariantResult]] = {name: [] for name in ALTERNATED}
        for round_ in range(1, self.args.rounds + 1):
            for name in ALTERNATED:
                runs[name].append(self.measure(specs[name](), f"{name}.round{round_}"))
        for name in ALTERNATED:
            chosen = self.record_rounds(name, runs[name])
            if name == "pipeline":
                # The worker's memory in the round that gives the median rate.
                self.results["worker_rss_mb"] = runs[name][chosen].rss_mb
                self.results["worker_rss_round"] = chosen + 1

    def pinned(self) -> None:
        """The pipeline with the broker on core 0 and the worker on core 1: declarations/s on
        one core. The broker is un-pinned afterwards, whatever happened."""
        name = "pipeline_pinned"
        cores = os.cpu_count() or 1
        taskset = shutil.which("taskset")
        if cores < 2 or taskset is None:
            status = "skipped: one core" if cores < 2 else "skipped: no taskset"
            console.print(f"{name}: {status}")
            self.results["variants"][name] = {"status": status}
            self.results[f"{name}_per_s"] = None
            return
        broker_pid = (self.broker_dir / "broker.pid").read_text().strip()
        spec = self.pipeline_spec(name)
        spec = replace(spec, command=[taskset, "-c", "1", *spec.command])
        pin = [taskset, "-a", "-cp"]
        subprocess.run([*pin, "0", broker_pid], check=True, capture_output=True, timeout=30)
        try:
            result = self.measure(spec)
        finally:
            everywhere = f"0-{cores - 1}"
            subprocess.run(
                [*pin, everywhere, broker_pid], check=False, capture_output=True, timeout=30
            )
        self.record(result)
        self.results["variants"][name].update({"broker_cores": "0", "worker_cores": "1"})

    def pipeline_spec(self, name: str, extra: dict[str, str] | None = None) -> VariantSpec:
        # The tables' databases are not named by the group: a new run (a later round, a later
        # bench) starts from empty local state, as its new group and changelogs do.
        state = self.work / name / "state"
        shutil.rmtree(state, ignore_errors=True)
        env = {
            **self._env(),
            "SCREENING_APP_ID": f"bench-{name}-{uuid.uuid4().hex[:6]}",
            "SCREENING_WEB_PORT": str(free_port()),
            "SCREENING_DATA_DIR": str(state),
            **(extra or {}),
        }
        start_group_at_end(self.settings, env["SCREENING_APP_ID"], JOINED_TOPICS)
        command = [sys.executable, "-m", "pipeline", "worker"]
        return VariantSpec(name, command, [topics.ASSESSMENTS, topics.DLQ], env)

    def publish_rules(self, folder: Path) -> None:
        publish_ruleset(self.settings, folder)

    def latency(self) -> None:
        """Half the pipeline's measured rate, open loop, into a worker that is ready and idle."""
        pipeline_rate = self.results.get("pipeline_per_s")
        if not pipeline_rate:
            self.results["variants"]["latency"] = {"status": "failed: no pipeline rate"}
            return
        rate = round(pipeline_rate * 0.5, 1)
        console.print(f"[bold]latency[/bold] at {rate:,.0f}/s for {self.args.latency_seconds} s")
        spec = self.pipeline_spec("latency")
        # The joined topics already start at their end (pipeline_spec); now the input too.
        start_group_at_end(self.settings, spec.env["SCREENING_APP_ID"], (topics.DECLARATIONS,))
        log_path = self.work / "latency.log"
        with log_path.open("wb") as log:
            worker = subprocess.Popen(
                spec.command, cwd=ROOT, env={**os.environ, **spec.env}, stdout=log, stderr=log
            )
        try:
            wait_ready(worker, log_path)
            pids = {
                "worker": worker.pid,
                "broker": int((self.broker_dir / "broker.pid").read_text()),
                "load_generator_and_probe": os.getpid(),
            }
            port = int(spec.env["SCREENING_WEB_PORT"])
            measuring: list[WorkerReading | None] = []
            # Taken beside the sender, which must not wait for the worker's /metrics.
            taker = threading.Thread(target=lambda: measuring.append(_reading(pids, port)))
            # One schedule without a pause: the warm-up (a worker that has just started fills
            # its caches, its partitions' fetches settle) runs on into the measured part.
            found = run_with_probe(
                self.settings,
                rate,
                self.args.latency_seconds,
                LATENCY_SEED,
                progress=True,
                warmup_s=self.args.warmup_seconds,
                on_measuring=taker.start,
            )
            taker.join()
            before = measuring[0] if measuring else None
            after = _reading(pids, port) if before is not None else None
            if before is not None and after is not None:
                found["cpu_cores"] = cores_used(before[0], after[0])
                found["batches"] = batch_means(before[1], after[1])
        except (RuntimeError, TimeoutError) as exc:
            self.results["variants"]["latency"] = {"status": f"failed: {exc}"}
            return
        finally:
            stop_process(worker)
        status = "complete" if found["unanswered"] == 0 else f"{found['unanswered']} unanswered"
        self.results["variants"]["latency"] = {"status": status, **found}
        self.results["latency_rate_per_s"] = rate
        self.results["latency_warmup_seconds"] = self.args.warmup_seconds
        self.results["latency_seconds"] = self.args.latency_seconds
        for key in ("p50_ms", "p99_ms", "p999_ms", "max_ms"):
            self.results[key] = found[key]
        console.print(
            f"  p50 {found['p50_ms']} ms, p99 {found['p99_ms']} ms, p99.9 {found['p999_ms']} ms,"
            f" max {found['max_ms']} ms ({status})"
        )


# The machine's and the processes' CPU, and the worker's batch totals, at one moment.
WorkerReading = tuple[CpuSnapshot, tuple[float, float, float]]


def _reading(pids: dict[str, int], port: int) -> WorkerReading | None:
    """None if a process is gone or the worker's /metrics does not answer: the latency is
    still reported, without these figures."""
    try:
        return snapshot(pids), batch_totals(port)
    except OSError:
        return None


def publish_ruleset(settings: Settings, folder: Path) -> None:
    """As `screening rules publish`, without running the cases: the generated rules of the
    large set carry placeholder cases only."""
    keys = [k.decode() for k in read_compacted(settings.kafka, topics.RULES)]
    records = ruleset_records(load_ruleset(folder), keys)
    producer = Producer(producer_config(settings.kafka))
    for key, value in records:
        produce_waiting(producer, topics.RULES, value, key.encode())
    if producer.flush(60):
        raise RuntimeError("the rule set was not fully written")
    console.print(f"  published {folder.name}: {len(records)} records")


# What a worker's group reads besides the declarations and its own hand-off topic: the
# examination results. A new group of a benchmark starts these at their end, so that a variant
# joins only what is sent during its run.
JOINED_TOPICS = (topics.EXAMINATION_RESULTS,)


def start_group_at_end(
    settings: Settings, group: str, names: Sequence[str] = (topics.DECLARATIONS, *JOINED_TOPICS)
) -> None:
    """Commit the end offsets of ``names`` for a new group, so that its worker reads only what
    is sent from now on (reset to latest could skip what arrives before its assignment)."""
    admin = AdminClient(settings.kafka.librdkafka_config())
    request = ConsumerGroupTopicPartitions(
        group,
        [
            TopicPartition(name, partition, offset)
            for name in names
            for partition, offset in end_offsets(settings, name).items()
        ],
    )
    for future in admin.alter_consumer_group_offsets([request]).values():
        future.result(timeout=30)


def wait_ready(worker: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.returncode} (see {log_path.name})")
        if b"[^Worker]: Ready" in log_path.read_bytes():
            return
        time.sleep(0.5)
    raise TimeoutError(f"worker not ready in {_READY_TIMEOUT_S:.0f} s")


def _step(name: str, action: Callable[[], Any]) -> Any:
    started = time.monotonic()
    console.print(f"[bold]{name}[/bold] ...")
    found = action()
    console.print(f"  {name}: {time.monotonic() - started:.1f} s")
    return found


def run(args: Any) -> dict[str, Any]:
    started = time.monotonic()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    quix = _step("quixstreams venv", quix_python)
    broker_dir = args.work_dir / "kafka"
    with bench_broker(broker_dir) as bootstrap:
        settings = Settings(kafka_bootstrap=bootstrap, partitions=PARTITIONS)
        bench = Bench(settings, args, quix, broker_dir)
        _run([sys.executable, "-m", "pipeline", "topics", "ensure"], bench._env())
        use_log_append_time(settings, [topics.ASSESSMENTS, topics.DLQ])
        # One generator: the registry published is that of the companies of the input.
        generator = input_generator()
        registry = generator.aeo_records()
        listed = [entry.name for entry in watchlist_entries(registry)]
        fill = _step("input", lambda: fill_input(settings, args.declarations, generator, listed))
        _step(
            "reference data",
            lambda: publish_reference_data(settings, args.aeo, args.watchlist),
        )
        published = _step(
            "reference data of the input", lambda: publish_input_reference(settings, registry)
        )
        bench.publish_rules(ROOT / "rules")
        bench.alternated()
        bench.record(bench.measure(bench.naive_faust_spec()))
        metrics_off = bench.pipeline_spec("metrics_off", {"SCREENING_METRICS_ENABLED": "false"})
        bench.record(bench.measure(metrics_off))
        # Before the latency phase, which adds its own declarations to the input topic.
        bench.pinned()
        bench.latency()
        many = write_rule_folder(ROOT / "rules", args.work_dir / "rules-many", args.rules)
        bench.publish_rules(many)
        bench.record(bench.measure(bench.pipeline_spec("pipeline_1000_rules")))
    results = bench.results
    results.update(
        {
            "declarations": args.declarations,
            "rounds": args.rounds,
            "partitions": PARTITIONS,
            "input": fill,
            "reference_data": {
                "aeo_records": args.aeo,
                "watchlist_entries": args.watchlist,
                **published,
            },
            "rules_in_large_set": args.rules,
            "metrics_enabled_setting": "metrics_enabled" in VARIABLES,
            "machine": machine(),
            "versions": versions(quix_version(quix)),
            "run_seconds": round(time.monotonic() - started, 1),
        }
    )
    results["targets"] = evaluate_targets(results)
    return results


def main() -> None:
    args = _parser().parse_args()
    results = run(args)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "bench.json").write_bytes(
        orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    write_markdown(results, args.results / "bench.md")
    write_chart(results, args.results / "bench.png")
    console.print(f"results in {args.results} after {results['run_seconds']} s")


if __name__ == "__main__":
    main()
