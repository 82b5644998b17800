"""Retention: delete the day folders older than the days to keep."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

from pipeline.archive.layout import DayDir, day_dirs, fsync_dir

__all__ = ["prune"]


def expired(root: Path, keep_days: int, today: date) -> list[DayDir]:
    """Day folders before ``today - keep_days``: with 1, only today and yesterday are kept."""
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    return day_dirs(root, until=today - timedelta(days=keep_days + 1))


def prune(root: Path, keep_days: int, today: date, dry_run: bool = False) -> list[DayDir]:
    """Delete the expired day folders (unless ``dry_run``); returns them."""
    gone = expired(root, keep_days, today)
    if dry_run:
        return gone
    for day in gone:
        shutil.rmtree(day.path)
    for parent in {day.path.parent for day in gone}:
        fsync_dir(parent)
    return gone
