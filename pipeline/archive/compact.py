"""Merge a day's many small files into one, each record once.

The merged file is written whole and durable first (``compacted.parquet``, replacing the
previous one), then the files it holds are deleted. A file that changed after it was read
(the archiver rewrote it) is left for the next compaction: deleting it could lose records.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from pipeline.archive.layout import COMPACTED, TEMP_SUFFIX, DayDir, day_dirs, fsync_dir
from pipeline.archive.writer import write_atomic

__all__ = ["compact", "compact_day", "merged"]

RECORD_ID = ("topic", "partition", "offset")
# A temporary file this old was left by a process that died while writing it.
_STALE_TEMP_S = 3600.0


@dataclass(frozen=True, slots=True)
class Compaction:
    topic: str
    day: date
    files: int  # files merged
    rows_read: int
    rows: int  # after removing duplicates
    kept: int  # files changed while compacting, left for next time


def _identity(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def merged(files: list[Path]) -> pl.DataFrame:
    """The records of ``files``, each (topic, partition, offset) once, in offset order."""
    # diagonal: a file written before a decoded column was added has nulls in it.
    data = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    return data.unique(subset=list(RECORD_ID), keep="first", maintain_order=True).sort(
        ["partition", "offset"]
    )


def compact_day(day: DayDir) -> Compaction | None:
    """Compact one day folder; None when it holds one file already, or none."""
    _remove_stale_temps(day.path)
    files = day.files()
    if not files or (len(files) == 1 and files[0].name == COMPACTED):
        return None
    identities = {f: _identity(f) for f in files}
    data = merged(files)
    rows_read = sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in files)
    target = day.path / COMPACTED
    write_atomic(data, target)
    kept = 0
    for f in files:
        if f == target:
            continue
        try:
            unchanged = _identity(f) == identities[f]
        except FileNotFoundError:
            continue
        if unchanged:
            f.unlink()
        else:
            kept += 1
    fsync_dir(day.path)
    return Compaction(day.topic, day.day, len(files), rows_read, data.height, kept)


def compact(root: Path, before: date, topic: str | None = None) -> list[Compaction]:
    """Compact every day folder before ``before`` (a day still being written is left)."""
    done: list[Compaction] = []
    for day in day_dirs(root, topic):
        if day.day >= before:
            continue
        result = compact_day(day)
        if result is not None:
            done.append(result)
    return done


def _remove_stale_temps(folder: Path) -> None:
    now = time.time()
    for temp in folder.glob(f".*{TEMP_SUFFIX}"):
        try:
            if now - temp.stat().st_mtime > _STALE_TEMP_S:
                os.unlink(temp)
        except FileNotFoundError:
            continue
