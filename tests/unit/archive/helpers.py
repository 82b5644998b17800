"""Records for the archive's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from pipeline import topics
from pipeline.archive.records import ArchiveRecord

DAY1_MS = int(datetime(2026, 11, 20, 8, tzinfo=UTC).timestamp() * 1000)
DAY2_MS = int(datetime(2026, 11, 21, 0, 0, 1, tzinfo=UTC).timestamp() * 1000)


def assessment_value(declaration_id: str, version: int = 1, **extra: Any) -> bytes:
    document = {
        "declaration_id": declaration_id,
        "version": version,
        "outcome": "RFI",
        "score": 42.5,
        "assessed_at": "2026-11-20T08:00:00.123Z",
        "matches": [],
        **extra,
    }
    return orjson.dumps(document)


def rec(
    offset: int,
    partition: int = 0,
    topic: str = topics.ASSESSMENTS,
    value: bytes | None = None,
    timestamp_ms: int | None = DAY1_MS,
    key: bytes | None = None,
) -> ArchiveRecord:
    declaration_id = f"D{partition}-{offset}"
    return ArchiveRecord(
        topic,
        partition,
        offset,
        key if key is not None else declaration_id.encode(),
        value if value is not None else assessment_value(declaration_id),
        timestamp_ms,
    )
