"""Read the archive back as the commands read Kafka: records of a topic, each once.

A record may be stored twice until its day is compacted (a batch re-read after a crash);
every reader here drops the second copy by (partition, offset), as compaction does.
Days are read one at a time, so months of records never have to fit in memory together.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from pipeline import topics
from pipeline.archive.compact import merged
from pipeline.archive.layout import day_dirs, topics_in
from pipeline.archive.sources import PARTNER_TOPIC_PATTERN
from pipeline.feedback.safe import Period, SafeMeasures
from pipeline.records import InputRecord

__all__ = ["days", "feed_safe", "records", "safe_warnings", "write_lines"]

_PARTNER_TOPIC = re.compile(PARTNER_TOPIC_PATTERN)
# Records are filed by their Kafka timestamp, the period decided by the dates they hold
# (assessed_at, sent_at): a margin of days around the period covers the difference.
_MARGIN = timedelta(days=2)


def days(
    root: Path, topic: str, since: date | None = None, until: date | None = None
) -> Iterator[pl.DataFrame]:
    """Each archived day of ``topic`` in the range (both ends included), in order, its
    records once each, in partition and offset order."""
    for day in day_dirs(root, topic, since, until):
        files = day.files()
        if files:
            yield merged(files)


def _bytes(text: str | None, encoded: str | None) -> bytes | None:
    if text is not None:
        return text.encode("utf-8")
    if encoded is not None:
        return base64.b64decode(encoded)
    return None


def records(
    root: Path, topic: str, since: date | None = None, until: date | None = None
) -> Iterator[InputRecord]:
    """The archived records of ``topic`` as ``screening rules effectiveness`` reads them from
    Kafka: key and value bytes as produced (a tombstone's value None), position, timestamp."""
    columns = ["key", "key_base64", "value", "value_base64", "partition", "offset", "timestamp"]
    for data in days(root, topic, since, until):
        rows = data.select(
            *columns[:-1], pl.col("timestamp").dt.epoch("ms").alias("timestamp")
        ).iter_rows()
        for key, key_b64, value, value_b64, partition, offset, timestamp in rows:
            yield InputRecord(
                topic,
                _bytes(key, key_b64),
                _bytes(value, value_b64),
                partition,
                offset,
                timestamp,
            )


def partner_topics(root: Path) -> list[str]:
    """The partners' replicated topics that the archive holds."""
    return [name for name in topics_in(root) if _PARTNER_TOPIC.match(name)]


def write_lines(
    root: Path, topic: str, path: Path, since: date | None = None, until: date | None = None
) -> int:
    """Write the archived values of ``topic`` to ``path``, one per line, as ``screening
    send`` reads a file; returns the lines written. Tombstones are left out. A value spread
    over lines is made one: a line break is whitespace between JSON tokens and is not
    allowed inside a JSON string, so the document stays the same."""
    written = 0
    with path.open("wb") as out:
        for record in records(root, topic, since, until):
            value = record.value
            if value is None or not value.strip():
                continue
            if b"\n" in value or b"\r" in value:
                value = value.replace(b"\r", b" ").replace(b"\n", b" ")
            out.write(value + b"\n")
            written += 1
    return written


def feed_safe(measures: SafeMeasures, root: Path) -> None:
    """Feed the SAFE measures from the archive as ``screening report safe`` feeds them from
    Kafka: assessments first, then examination results (of any later day: a consignment is
    examined after it is screened), then our partner messages and each partner's."""
    period = measures.period
    start, end = period.start - _MARGIN, period.end + _MARGIN
    measures.add_assessments(records(root, topics.ASSESSMENTS, start, end))
    measures.add_examination_results(records(root, topics.EXAMINATION_RESULTS, start))
    measures.add_partner_messages(records(root, topics.C2C_OUTBOUND, start, end))
    for topic in partner_topics(root):
        measures.note_partner_topic(topic)
        measures.add_partner_messages(records(root, topic, start, end))


def safe_warnings(root: Path, period: Period) -> list[str]:
    """Why figures from the archive may be incomplete for the period."""
    archived = day_dirs(root, topics.ASSESSMENTS)
    if not archived:
        return [f"the archive {root} holds no assessments"]
    first = archived[0].day
    if period.start < first:
        return [
            f"the archive holds assessments from {first}: days before are missing from "
            "these figures"
        ]
    return []
