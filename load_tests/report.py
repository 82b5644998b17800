"""The benchmark's report: a Markdown page and a chart from the results of one run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

THROUGHPUT_VARIANTS = (
    "passthrough",
    "naive_faust",
    "quixstreams",
    "pipeline",
    "metrics_off",
    "pipeline_pinned",
    "pipeline_1000_rules",
)
# Run in alternated rounds (see bench.ALTERNATED); the others run once.
ALTERNATED_VARIANTS = ("passthrough", "quixstreams", "pipeline")
ONCE_VARIANTS = tuple(n for n in THROUGHPUT_VARIANTS if n not in ALTERNATED_VARIANTS)

# What each variant does, and what a baseline leaves out, from the code that runs it.
VARIANT_NOTES = (
    (
        "passthrough",
        "`load_tests/baselines/passthrough.py`: a confluent-kafka consumer takes batches of "
        "2,000, orjson parses each declaration only to read its id and version, and one small "
        "record (id, version, a fixed outcome, a timestamp) is produced per declaration, "
        "batched by librdkafka. No validation, no rules, no reference data, no state; offsets "
        "are auto-committed in the background, not tied to the outputs (no commit barrier). "
        "The ceiling of one Python process moving these messages through Kafka.",
    ),
    (
        "naive_faust",
        "`load_tests/baselines/naive_faust.py`: one Faust agent takes one event at a time "
        "(Faust's json codec), evaluates the default rules in plain Python "
        "(`baselines/plain_rules.py`: the YAML conditions walked over the parsed document, "
        "scores added) and awaits the send of one assessment. In-memory store, no tables, no "
        "reference data (AEO claims stay unverified, no watch list), no versions, no joins, no "
        "notices or hits; offsets committed by Faust's default commit.",
    ),
    (
        "quixstreams",
        "`load_tests/baselines/quix_screening.py`: a Quix Streams `Application` (a venv of its "
        "own) with one stateless `dataframe(...).apply(screen).to_topic(...)`: Quix's JSON "
        "deserialiser, the same plain-Python default rules as naive_faust per message, one "
        "JSON assessment per message. No state is used (a state dir is given, nothing is "
        "stored), no reference data, no versions, joins, notices or hits; Quix's default "
        "at-least-once guarantee, offsets committed every 5 s.",
    ),
    (
        "pipeline",
        "`screening worker` as deployed: each declaration decoded and validated against the "
        "contract (invalid ones to the dead-letter topic), enriched against the reference "
        "data (AEO registry, watch list and the other reference topics), all default rules "
        "evaluated over the batch in Polars; the version table and the examination join "
        "table in RocksDB with their changelogs; assessments, filer notices, hits and "
        "consolidation records produced; a batch's offsets committed only once Kafka has "
        "acknowledged all its outputs and changelog records (a per-batch checkpoint); "
        "Prometheus metrics.",
    ),
    ("metrics_off", "The pipeline with `SCREENING_METRICS_ENABLED=false`."),
    (
        "latency",
        "The pipeline, ready and idle, fed by the open-loop generator at half the pipeline's "
        "median rate; latency from each message's scheduled send time to its assessment.",
    ),
    (
        "pipeline_pinned",
        "The pipeline with the broker pinned to core 0 and the worker to core 1 (`taskset`): "
        "declarations/s on one core.",
    ),
    (
        "pipeline_1000_rules",
        "The pipeline with the default rules and generated ones, 1,000 rules in all.",
    ),
)


def _while_measured(latency: dict[str, Any], cores: int | None) -> list[str]:
    """How busy the machine and the worker were while latency was measured."""
    cpu, batches = latency.get("cpu_cores"), latency.get("batches")
    lines: list[str] = []
    if cpu:
        lines += [
            "",
            f"While it was measured the machine's {_figure(cores)} cores were busy "
            f"{_figure(cpu.get('machine_busy'))} on average (steal time, as the kernel reports "
            f"it: {_figure(cpu.get('steal'))}): the worker "
            f"{_figure(cpu.get('worker'))}, the broker {_figure(cpu.get('broker'))}, the load "
            f"generator and probe {_figure(cpu.get('load_generator_and_probe'))}.",
        ]
    if batches and batches.get("count"):
        size, took = batches.get("mean_declarations") or 0, batches.get("mean_ms") or 0
        lines += [
            "",
            f"The worker screened {batches['count']:,.0f} batches of {size:,.0f} declarations "
            f"on average, each {took:,.1f} ms from fetch to stored.",
        ]
    return lines


def _figure(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value >= 100:
        return f"{value:,.0f}{unit}"
    return f"{value:,}{unit}" if isinstance(value, int) else f"{value:,.2f}{unit}"


def _met(met: bool | None) -> str:
    return {True: "met", False: "not met", None: "not measured"}[met]


def _span(found: dict[str, Any]) -> str:
    low, high = (found.get("range_per_s") or [None, None])[:2]
    return "-" if low is None or high is None else f"{_figure(low)} - {_figure(high)}"


def _each(found: dict[str, Any]) -> str:
    rates = found.get("rates_per_s") or []
    return " · ".join(_figure(rate) for rate in rates) or "-"


def _header(results: dict[str, Any]) -> list[str]:
    machine = results.get("machine", {})
    versions = results.get("versions", {})
    reference = results.get("reference_data", {})
    pinned = results.get("variants", {}).get("pipeline_pinned", {})
    listed = results.get("input", {}).get("naming_listed_company")
    pinned_text = (
        f"{_figure(results.get('pipeline_pinned_per_s'))} declarations/s "
        f"({pinned.get('status', 'not run')})"
        if results.get("pipeline_pinned_per_s")
        else pinned.get("status", "not run")
    )
    return [
        "# Benchmark",
        "",
        f"{results.get('declarations', 0):,} declarations, {results.get('partitions')} "
        f"partitions, one broker; {machine.get('cores')} cores ({machine.get('cpu_model')}). "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if v),
        "",
        f"Capacity per core: **{pinned_text}** (`pipeline_pinned`: the broker pinned to core 0, "
        "the worker to core 1).",
        "",
        f"Reference data: {_figure(reference.get('aeo_records'))} random AEO records and "
        f"{_figure(reference.get('watchlist_entries'))} random watch-list entries (the size of "
        "the worker's copy in service; no declaration names them), plus the input's own AEO "
        f"registry ({_figure(reference.get('input_aeo_records'))} records) and "
        f"{_figure(reference.get('input_watchlist_entries'))} watch-list entries for 1 % of "
        f"its companies ({_figure(listed)} declarations of the input name one).",
        "",
        "Rate = outputs / (last output - first output), by the broker's append timestamps:",
        "start-up is not counted. A variant still writing after the measuring cap is stopped",
        "and its rate taken over what it wrote (partial).",
    ]


def markdown(results: dict[str, Any]) -> str:
    variants = results.get("variants", {})
    lines = [
        *_header(results),
        "",
        f"`passthrough`, `quixstreams` and `pipeline` ran in {results.get('rounds', 1)} "
        "alternated rounds (passthrough, quixstreams, pipeline; again; ...), each run a fresh "
        "consumer group over the same input; the rate is the median of the rounds.",
        "",
        "| variant | median declarations/s | min - max | rounds | outputs | status | RSS MiB |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for name in ALTERNATED_VARIANTS:
        found = variants.get(name, {})
        lines.append(
            f"| {name} | {_figure(found.get('per_s'))} | {_span(found)} | {_each(found)} "
            f"| {_figure(found.get('outputs'))} | {found.get('status', 'not run')} "
            f"| {_figure(found.get('rss_mb'))} |"
        )
    lines += [
        "",
        "Run once:",
        "",
        "| variant | declarations/s | outputs | status | RSS MiB |",
        "|---|---:|---:|---|---:|",
    ]
    for name in ONCE_VARIANTS:
        found = variants.get(name, {})
        lines.append(
            f"| {name} | {_figure(found.get('per_s'))} | {_figure(found.get('outputs'))} "
            f"| {found.get('status', 'not run')} | {_figure(found.get('rss_mb'))} |"
        )
    latency = variants.get("latency", {})
    lines += [
        "",
        "## Latency",
        "",
        f"Open loop at {_figure(results.get('latency_rate_per_s'))} declarations/s (half the "
        f"pipeline's median rate) for {_figure(results.get('latency_seconds'))} s, straight "
        f"after {_figure(results.get('latency_warmup_seconds'))} s at that rate that are not "
        "measured; latency from each message's scheduled send time to its assessment, so that "
        "a sender that falls behind counts against the figures, not for them.",
        "",
        "| p50 | p99 | p99.9 | max | assessed | unanswered | sender worst lateness |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {_figure(results.get('p50_ms'), ' ms')} | {_figure(results.get('p99_ms'), ' ms')} "
        f"| {_figure(results.get('p999_ms'), ' ms')} | {_figure(results.get('max_ms'), ' ms')} "
        f"| {_figure(latency.get('assessed'))} | {_figure(latency.get('unanswered'))} "
        f"| {_figure(latency.get('sender_worst_lateness_ms'), ' ms')} |",
        *_while_measured(latency, results.get("machine", {}).get("cores")),
        "",
        "## Targets",
        "",
        "| target | value | |",
        "|---|---:|---|",
    ]
    for found in results.get("targets", {}).values():
        lines.append(f"| {found['target']} | {_figure(found['value'])} | {_met(found['met'])} |")
    lines += [
        "",
        "Worker RSS at the end of the `pipeline` round that gives the median rate (round "
        f"{_figure(results.get('worker_rss_round'))}): "
        f"{_figure(results.get('worker_rss_mb'))} MiB.",
        "",
        "## What each variant does",
        "",
        *(f"- **{name}**: {text}" for name, text in VARIANT_NOTES),
    ]
    return "\n".join(lines) + "\n"


def write_markdown(results: dict[str, Any], path: Path) -> None:
    path.write_text(markdown(results))


def write_chart(results: dict[str, Any], path: Path) -> None:
    """Throughput per variant (the median and range of the rounds where there are rounds),
    and the latency percentile curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = results.get("variants", {})
    names = [n for n in THROUGHPUT_VARIANTS if variants.get(n, {}).get("per_s")]
    rates = [variants[n]["per_s"] for n in names]
    # The range of the alternated rounds as error bars around their median.
    spans = [variants[n].get("range_per_s") or [None, None] for n in names]
    below = [rate - low if low else 0.0 for rate, (low, _) in zip(rates, spans, strict=True)]
    above = [high - rate if high else 0.0 for rate, (_, high) in zip(rates, spans, strict=True)]
    figure, (bars, curve) = plt.subplots(1, 2, figsize=(13, 5))
    bars.barh(names, rates, xerr=[below, above], capsize=4, color="#4c72b0")
    bars.set_xlabel("declarations per second")
    bars.set_title(f"Throughput ({results.get('declarations', 0):,} declarations)")
    for y, rate in enumerate(rates):
        bars.text(rate, y, f" {rate:,.0f}", va="center")
    bars.invert_yaxis()
    points = variants.get("latency", {}).get("curve") or []
    if points:
        # Percentiles on a log scale of "1 in N": the tail gets the room it needs.
        xs = [1 / (1 - p / 100) if p < 100 else 1e5 for p, _ in points]
        curve.plot(xs, [ms for _, ms in points], marker="o")
        curve.set_xscale("log")
        curve.set_xticks([1, 2, 10, 100, 1000, 1e4, 1e5])
        curve.set_xticklabels(["0", "50", "90", "99", "99.9", "99.99", "max"])
    curve.set_xlabel("percentile")
    curve.set_ylabel("scheduled send to assessment, ms")
    curve.set_title(f"Latency at {_figure(results.get('latency_rate_per_s'))}/s (open loop)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
