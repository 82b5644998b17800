"""Where things are in the archive: ``<root>/<topic>/date=YYYY-MM-DD/<file>.parquet``.

A batch's file is named by its partition and first offset, so that a batch read again after
a crash (from the same committed offset) replaces its file instead of adding a second copy.
A day's compacted file has a fixed name, so that compacting again replaces it too.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

COMPACTED = "compacted.parquet"
_DAY_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
# Temporary files end so, never .parquet: readers and compaction never see a half-written one.
TEMP_SUFFIX = ".tmp"


def part_name(partition: int, first_offset: int) -> str:
    # Zero-padded: a listing sorts in offset order.
    return f"part-{partition:05d}-{first_offset:020d}.parquet"


def day_dir(root: Path, topic: str, day: date) -> Path:
    return root / topic / f"date={day.isoformat()}"


@dataclass(frozen=True, slots=True)
class DayDir:
    topic: str
    day: date
    path: Path

    def files(self) -> list[Path]:
        """The day's Parquet files, compacted or not, temporary ones apart."""
        return sorted(p for p in self.path.glob("*.parquet") if not p.name.startswith("."))


def day_of(folder_name: str) -> date | None:
    found = _DAY_DIR.match(folder_name)
    if found is None:
        return None
    try:
        return date.fromisoformat(found.group(1))
    except ValueError:
        return None


def topics_in(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def day_dirs(
    root: Path, topic: str | None = None, since: date | None = None, until: date | None = None
) -> list[DayDir]:
    """Day folders of one topic or all, ``since`` and ``until`` included, in order."""
    found: list[DayDir] = []
    for name in [topic] if topic is not None else topics_in(root):
        folder = root / name
        if not folder.is_dir():
            continue
        for child in folder.iterdir():
            day = day_of(child.name)
            if day is None or not child.is_dir():
                continue
            if (since is None or day >= since) and (until is None or day <= until):
                found.append(DayDir(name, day, child))
    return sorted(found, key=lambda d: (d.topic, d.day))


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path) -> None:
    """Create ``path`` and its parents, each new entry made durable in its parent."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        fsync_dir(folder.parent)
