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
    "pipeline_1000_rules",
)


def _figure(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value >= 100:
        return f"{value:,.0f}{unit}"
    return f"{value:,}{unit}" if isinstance(value, int) else f"{value:,.2f}{unit}"


def _met(met: bool | None) -> str:
    return {True: "met", False: "not met", None: "not measured"}[met]


def markdown(results: dict[str, Any]) -> str:
    variants = results.get("variants", {})
    machine = results.get("machine", {})
    versions = results.get("versions", {})
    lines = [
        "# Benchmark",
        "",
        f"{results.get('declarations', 0):,} declarations, {results.get('partitions')} "
        f"partitions, one broker; {machine.get('cores')} cores ({machine.get('cpu_model')}). "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if v),
        "",
        "Rate = outputs / (last output - first output), by the broker's append timestamps:",
        "start-up is not counted. A variant still writing after the measuring cap is stopped",
        "and its rate taken over what it wrote (partial).",
        "",
        "| variant | declarations/s | outputs | status | RSS MiB |",
        "|---|---:|---:|---|---:|",
    ]
    for name in THROUGHPUT_VARIANTS:
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
        f"pipeline's rate) for {_figure(latency.get('send_seconds'))} s, after "
        f"{_figure(results.get('latency_warmup_seconds'))} s at that rate that are not "
        "measured; send to assessment.",
        "",
        "| p50 | p99 | p99.9 | max | assessed | unanswered | sender worst lateness |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {_figure(results.get('p50_ms'), ' ms')} | {_figure(results.get('p99_ms'), ' ms')} "
        f"| {_figure(results.get('p999_ms'), ' ms')} | {_figure(results.get('max_ms'), ' ms')} "
        f"| {_figure(latency.get('assessed'))} | {_figure(latency.get('unanswered'))} "
        f"| {_figure(latency.get('sender_worst_lateness_ms'), ' ms')} |",
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
        f"Worker RSS at the end of `pipeline`: {_figure(results.get('worker_rss_mb'))} MiB.",
    ]
    return "\n".join(lines) + "\n"


def write_markdown(results: dict[str, Any], path: Path) -> None:
    path.write_text(markdown(results))


def write_chart(results: dict[str, Any], path: Path) -> None:
    """Throughput per variant, and the latency percentile curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = results.get("variants", {})
    names = [n for n in THROUGHPUT_VARIANTS if variants.get(n, {}).get("per_s")]
    rates = [variants[n]["per_s"] for n in names]
    figure, (bars, curve) = plt.subplots(1, 2, figsize=(13, 5))
    bars.barh(names, rates, color="#4c72b0")
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
    curve.set_ylabel("send to assessment, ms")
    curve.set_title(f"Latency at {_figure(results.get('latency_rate_per_s'))}/s (open loop)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
