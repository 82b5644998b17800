"""What the archive holds: files, rows and bytes per topic and day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from pipeline.archive.layout import day_dirs

__all__ = ["stats"]


@dataclass(frozen=True, slots=True)
class DayStats:
    topic: str
    day: date
    files: int
    rows: int  # as stored: a day not yet compacted may hold a record twice
    bytes: int


def stats(
    root: Path, topic: str | None = None, since: date | None = None, until: date | None = None
) -> list[DayStats]:
    found: list[DayStats] = []
    for day in day_dirs(root, topic, since, until):
        files = day.files()
        # Parquet footers hold the row counts: nothing else is read.
        rows = sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in files)
        found.append(
            DayStats(day.topic, day.day, len(files), rows, sum(f.stat().st_size for f in files))
        )
    return found
