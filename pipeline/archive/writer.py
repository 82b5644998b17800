"""Write archive files so that a file is either whole and durable or absent.

Each file is written under a temporary name, fsynced, renamed into place and its folder
fsynced: only then may the consumer commit the offsets it holds.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import polars as pl

from pipeline.archive.layout import day_dir, fsync_dir, make_dirs, part_name, temp_path
from pipeline.archive.records import ArchiveRecord, frame


def write_atomic(data: pl.DataFrame, path: Path) -> None:
    """Write ``data`` to ``path``, replacing any file there, durably and all at once."""
    temp = temp_path(path)
    try:
        data.write_parquet(temp, compression="zstd", statistics=True)
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_batch(root: Path, records: Sequence[ArchiveRecord], archived_on: date) -> list[Path]:
    """One file per topic, partition and day of the records; returns the files written."""
    groups: dict[tuple[str, int, date], list[ArchiveRecord]] = defaultdict(list)
    for record in records:
        groups[(record.topic, record.partition, record.day(archived_on))].append(record)
    written: list[Path] = []
    for (topic, partition, day), delivered in sorted(groups.items()):
        # A record delivered twice in one batch (after a rebalance) is archived once.
        group = sorted({r.offset: r for r in delivered}.values(), key=lambda r: r.offset)
        folder = day_dir(root, topic, day)
        make_dirs(folder)
        path = folder / part_name(partition, group[0].offset)
        write_atomic(frame(group, archived_on), path)
        written.append(path)
    return written
