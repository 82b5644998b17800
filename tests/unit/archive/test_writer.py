"""Files by topic, partition and day, named by first offset: a batch written again replaces."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from pipeline import topics
from pipeline.archive.layout import part_name
from pipeline.archive.read import records
from pipeline.archive.writer import write_batch
from tests.unit.archive.helpers import DAY2_MS, rec

TODAY = date(2026, 12, 6)


def _relative(root: Path, paths: list[Path]) -> list[str]:
    return [str(p.relative_to(root)) for p in paths]


def test_a_batch_is_split_by_topic_partition_and_day(tmp_path: Path) -> None:
    batch = [
        rec(10, 0),
        rec(12, 1),
        rec(11, 0),
        rec(13, 0, timestamp_ms=DAY2_MS),
        rec(3, 0, topic=topics.HITS),
    ]
    written = write_batch(tmp_path, batch, TODAY)
    assert sorted(_relative(tmp_path, written)) == sorted(
        [
            f"{topics.ASSESSMENTS}/date=2026-11-20/part-00000-00000000000000000010.parquet",
            f"{topics.ASSESSMENTS}/date=2026-11-20/part-00001-00000000000000000012.parquet",
            f"{topics.ASSESSMENTS}/date=2026-11-21/part-00000-00000000000000000013.parquet",
            f"{topics.HITS}/date=2026-11-20/part-00000-00000000000000000003.parquet",
        ]
    )
    first = pl.read_parquet(written[0])
    assert first["offset"].to_list() == [10, 11]  # in offset order
    # Nothing but the files: no temporary file is left behind.
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        p.name for p in written
    )


def test_a_batch_read_again_replaces_its_file(tmp_path: Path) -> None:
    batch = [rec(offset) for offset in range(100, 110)]
    first = write_batch(tmp_path, batch, TODAY)
    # After a crash before the commit: the same records from the same offset, cut elsewhere.
    again = write_batch(tmp_path, batch[:4], TODAY) + write_batch(tmp_path, batch[4:], TODAY)
    assert again[0] == first[0]
    archived = [r.offset for r in records(tmp_path, topics.ASSESSMENTS)]
    assert archived == list(range(100, 110))


def test_a_record_delivered_twice_in_a_batch_is_written_once(tmp_path: Path) -> None:
    (path,) = write_batch(tmp_path, [rec(5), rec(6), rec(5)], TODAY)
    assert pl.read_parquet(path)["offset"].to_list() == [5, 6]


def test_part_names_sort_in_offset_order() -> None:
    names = [part_name(0, offset) for offset in (9, 10, 1_000_000)]
    assert names == sorted(names)
    assert part_name(3, 42) == "part-00003-00000000000000000042.parquet"
