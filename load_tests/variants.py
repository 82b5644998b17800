"""Run one variant as a subprocess over the same input and measure its outputs.

Every variant is measured the same way: the end offsets of its output topics are taken before
it starts, and its rate is outputs / (last output - first output) by the broker's timestamps,
so start-up is not counted. A variant stops when it has written one output per input, or when
it has been writing for ``measure_cap_s`` (then the rate is over what it wrote, marked
partial), or fails after ``timeout_s`` without finishing or when its process dies.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from load_tests.results import OutputWindow
from load_tests.topic_stats import count_since, end_offsets, output_window
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
_POLL_S = 0.5
_STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class VariantSpec:
    name: str
    command: list[str]
    outputs: list[str]  # topics whose records count as this variant's outputs
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class VariantResult:
    name: str
    status: str  # complete, partial, or failed: why
    window: OutputWindow
    rss_mb: float | None = None
    wall_s: float = 0.0

    @property
    def per_s(self) -> float | None:
        return None if self.status.startswith("failed") else self.window.per_s

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "per_s": round(self.per_s, 1) if self.per_s else None,
            "outputs": self.window.count,
            "measured_s": round(self.window.seconds, 3),
            "wall_s": round(self.wall_s, 1),
            "rss_mb": self.rss_mb,
        }


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process from /proc, in MiB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_variant(
    settings: Settings,
    spec: VariantSpec,
    expected: int,
    log_path: Path,
    timeout_s: float,
    measure_cap_s: float,
) -> VariantResult:
    starts = {topic: end_offsets(settings, topic) for topic in spec.outputs}
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            spec.command,
            cwd=ROOT,
            env={**os.environ, **spec.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    status = ""
    memory: float | None = None
    first_output_at: float | None = None
    try:
        while not status:
            time.sleep(_POLL_S)
            now = time.monotonic()
            written = sum(count_since(settings, t, starts[t]) for t in spec.outputs)
            if written and first_output_at is None:
                first_output_at = now
            if written >= expected:
                status = "complete"
            elif process.poll() is not None:
                status = f"failed: exited with {process.returncode} (see {log_path.name})"
            elif first_output_at is not None and now - first_output_at >= measure_cap_s:
                status = "partial"
            elif now - started >= timeout_s:
                status = f"failed: not finished in {timeout_s:.0f} s"
        memory = rss_mb(process.pid)
    finally:
        stop_process(process)
    window = OutputWindow.merge(output_window(settings, t, starts[t]) for t in spec.outputs)
    return VariantResult(spec.name, status, window, memory, time.monotonic() - started)
