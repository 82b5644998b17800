"""Every metric the archiver exports, in base units, on its own registry (its own process).

No label carries a declaration, a party or an officer: topics only.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from pipeline.standard_collectors import register_standard_collectors

__all__ = ["LAST_COMMIT", "REGISTRY"]

REGISTRY = CollectorRegistry(auto_describe=True)
register_standard_collectors(REGISTRY)

RECORDS = Counter(
    "screening_archive_records_total",
    "Kafka records written to durable archive files, by topic (a batch read again after a "
    "failed commit counts again).",
    ["topic"],
    registry=REGISTRY,
)
FILES = Counter(
    "screening_archive_files_total",
    "Parquet files written to the archive.",
    registry=REGISTRY,
)
BYTES = Counter(
    "screening_archive_bytes_total",
    "Bytes of the Parquet files written to the archive.",
    registry=REGISTRY,
)
LAST_COMMIT = Gauge(
    "screening_archive_last_commit_timestamp_seconds",
    "When the archiver last committed its offsets, after the files before them were durable "
    "(Unix time; 0 until the first commit).",
    registry=REGISTRY,
)
COMMIT_FAILURES = Counter(
    "screening_archive_commit_failures_total",
    "Batches written but not committed; the group reads them again.",
    registry=REGISTRY,
)
