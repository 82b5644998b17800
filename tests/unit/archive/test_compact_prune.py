"""Compaction keeps each record once in one file per day; retention deletes whole days."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline import topics
from pipeline.archive.compact import compact, compact_day
from pipeline.archive.layout import COMPACTED, day_dir, day_dirs
from pipeline.archive.prune import prune
from pipeline.archive.stats import stats
from pipeline.archive.writer import write_batch
from tests.unit.archive.helpers import DAY2_MS, rec

TODAY = date(2026, 12, 6)
DAY1 = day_dir(Path("."), topics.ASSESSMENTS, date(2026, 11, 20))


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_compaction_merges_a_day_and_drops_duplicates(tmp_path: Path) -> None:
    # Overlapping files, as after a crash and a batch cut elsewhere the second time.
    write_batch(tmp_path, [rec(o) for o in range(0, 6)], TODAY)
    write_batch(tmp_path, [rec(o) for o in range(4, 10)], TODAY)
    write_batch(tmp_path, [rec(o, partition=1) for o in range(0, 3)], TODAY)
    write_batch(tmp_path, [rec(20, timestamp_ms=DAY2_MS)], TODAY)  # a day still open
    folder = tmp_path / DAY1

    done = compact(tmp_path, before=date(2026, 11, 21))
    assert [(c.day, c.files, c.rows_read, c.rows, c.kept) for c in done] == [
        (date(2026, 11, 20), 3, 15, 13, 0)
    ]
    assert _files(folder) == [COMPACTED]
    data = pl.read_parquet(folder / COMPACTED)
    assert data.select("partition", "offset").rows() == [
        *((0, o) for o in range(10)),
        *((1, o) for o in range(3)),
    ]
    # The day at --before is left as it is.
    (later,) = [d for d in day_dirs(tmp_path) if d.day == date(2026, 11, 21)]
    assert len(later.files()) == 1
    assert later.files()[0].name.startswith("part-")

    # Late records of a compacted day, compacted again: into the same file.
    write_batch(tmp_path, [rec(9), rec(10)], TODAY)
    (again,) = compact(tmp_path, before=date(2026, 11, 21))
    assert (again.files, again.rows) == (2, 14)
    assert _files(folder) == [COMPACTED]
    assert compact(tmp_path, before=date(2026, 11, 21)) == []  # nothing left to do


def test_a_file_rewritten_during_compaction_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_batch(tmp_path, [rec(0), rec(1)], TODAY)
    (part,) = write_batch(tmp_path, [rec(2), rec(3)], TODAY)
    from pipeline.archive import compact as module

    real_merged = module.merged

    def merged_then_rewritten(files: list[Path]) -> pl.DataFrame:
        data = real_merged(files)
        write_batch(tmp_path, [rec(2), rec(3), rec(4)], TODAY)  # the archiver, meanwhile
        return data

    monkeypatch.setattr(module, "merged", merged_then_rewritten)
    (day,) = day_dirs(tmp_path)
    result = compact_day(day)
    assert result is not None
    assert result.kept == 1
    assert part.exists()
    assert sum(s.rows for s in stats(tmp_path)) == 4 + 3  # offset 4 is not lost


def test_stale_temporary_files_are_removed_by_compaction(tmp_path: Path) -> None:
    write_batch(tmp_path, [rec(0)], TODAY)
    write_batch(tmp_path, [rec(1)], TODAY)
    folder = tmp_path / DAY1
    stale, fresh = folder / ".part-x.parquet.old.tmp", folder / ".part-y.parquet.new.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    os.utime(stale, (0, 0))
    compact(tmp_path, before=TODAY)
    assert not stale.exists()
    assert fresh.exists()


def test_prune_deletes_the_days_older_than_kept(tmp_path: Path) -> None:
    for day in (date(2026, 11, 20), date(2026, 11, 21)):
        for topic in (topics.ASSESSMENTS, topics.HITS):
            stamp = int(pl.Series([day]).cast(pl.Datetime("ms")).dt.epoch("ms")[0])
            write_batch(tmp_path, [rec(0, topic=topic, timestamp_ms=stamp)], TODAY)
    keep = (TODAY - date(2026, 11, 21)).days  # 2026-11-21 is exactly that old: kept
    listed = prune(tmp_path, keep, TODAY, dry_run=True)
    assert len(listed) == 2
    assert all(d.path.exists() for d in listed)
    gone = prune(tmp_path, keep, TODAY)
    assert {(d.topic, d.day) for d in gone} == {
        (topics.ASSESSMENTS, date(2026, 11, 20)),
        (topics.HITS, date(2026, 11, 20)),
    }
    assert {d.day for d in day_dirs(tmp_path)} == {date(2026, 11, 21)}
    with pytest.raises(ValueError, match="at least 1"):
        prune(tmp_path, 0, TODAY)


def test_stats_count_files_rows_and_bytes(tmp_path: Path) -> None:
    write_batch(tmp_path, [rec(0), rec(1), rec(0, partition=1)], TODAY)
    (row,) = stats(tmp_path)
    assert (row.topic, row.day, row.files, row.rows) == (
        topics.ASSESSMENTS,
        date(2026, 11, 20),
        2,
        3,
    )
    assert row.bytes > 0
    assert stats(tmp_path / "missing") == []
