"""The machine and the versions a benchmark ran with, for its report."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict[str, object]:
    model = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "cpu_model": model, "system": platform.platform()}


def kafka_version() -> str | None:
    """The broker's version, from the name of the jar that kafka.sh runs."""
    for jar in sorted((ROOT / "deploy" / "kafka" / ".jars").glob("kafka-server-[0-9]*.jar")):
        return jar.stem.removeprefix("kafka-server-")
    return None


def versions(quixstreams: str | None) -> dict[str, str | None]:
    return {
        "python": platform.python_version(),
        "faust": version("faust-streaming"),
        "confluent-kafka": version("confluent-kafka"),
        "quixstreams": quixstreams,
        "polars": version("polars"),
        "kafka": kafka_version(),
    }
