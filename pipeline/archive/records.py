"""Kafka records as archive rows: the record whole, plus a few decoded columns for queries.

Decoding is defensive: a value that is not JSON, not an object, or has a field of another
type is still archived, whole, with nulls in the decoded columns it does not fill.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
import polars as pl

from pipeline.archive.sources import Kind, kind_of


@dataclass(frozen=True, slots=True)
class ArchiveRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None  # None: a tombstone
    timestamp_ms: int | None  # the Kafka record's timestamp; None when the broker gave none

    def day(self, fallback: date) -> date:
        """The UTC day of the record's timestamp: the folder it is archived in."""
        if self.timestamp_ms is None:
            return fallback
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).date()


BASE_SCHEMA: dict[str, pl.DataType] = {
    "topic": pl.String(),
    "partition": pl.Int32(),
    "offset": pl.Int64(),
    "key": pl.String(),
    # The key or value's bytes when they are not UTF-8 (key or value is then null): kept whole.
    "key_base64": pl.String(),
    "timestamp": pl.Datetime("ms", "UTC"),
    "day": pl.Date(),
    "value": pl.String(),
    "value_base64": pl.String(),
}

_STR, _INT, _FLOAT, _TIME = pl.String(), pl.Int64(), pl.Float64(), pl.Datetime("us", "UTC")

# Per kind: column, path in the JSON value, type.
DECODED: dict[Kind, tuple[tuple[str, tuple[str, ...], pl.DataType], ...]] = {
    "declaration": (
        ("declaration_id", ("declaration_id",), _STR),
        ("version", ("version",), _INT),
        ("message_type", ("message_type",), _STR),
        ("submitted_at", ("submitted_at",), _TIME),
    ),
    "assessment": (
        ("declaration_id", ("declaration_id",), _STR),
        ("version", ("version",), _INT),
        ("outcome", ("outcome",), _STR),
        ("score", ("score",), _FLOAT),
        ("assessed_at", ("assessed_at",), _TIME),
    ),
    "hit": (
        ("declaration_id", ("declaration_id",), _STR),
        ("version", ("version",), _INT),
        ("outcome", ("outcome",), _STR),
    ),
    # A rejection's error code; the inbound dead letters of partners name it the same way.
    "dead_letter": (("reason", ("error", "code"), _STR),),
    "examination": (
        ("declaration_id", ("declaration_id",), _STR),
        ("version", ("version",), _INT),
        ("result", ("result",), _STR),
    ),
    "partner_message": (
        ("message_id", ("message_id",), _STR),
        ("kind", ("kind",), _STR),
        ("sent_at", ("sent_at",), _TIME),
    ),
}


def schema(topic: str) -> dict[str, pl.DataType]:
    """The columns of every file of ``topic``: the record, then what is decoded of it."""
    return {**BASE_SCHEMA, **{name: dtype for name, _, dtype in DECODED[kind_of(topic)]}}


def _text(raw: bytes | None) -> tuple[str | None, str | None]:
    if raw is None:
        return None, None
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, base64.b64encode(raw).decode("ascii")


def _at(document: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if not isinstance(document, dict):
            return None
        document = document.get(step)
    return document


def _as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _as_int(value: Any) -> int | None:
    # bool is an int to Python, not to the contract; and Parquet's int64 has bounds.
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _as_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    # The contract's timestamps are UTC; one without an offset is read as UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_CONVERT: dict[type[pl.DataType], Callable[[Any], Any]] = {
    pl.String: _as_str,
    pl.Int64: _as_int,
    pl.Float64: _as_float,
    pl.Datetime: _as_time,
}


def decode(value: bytes | None) -> Any:
    """The JSON document of a value, or None when it is not JSON (or a tombstone)."""
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return None


def frame(records: Sequence[ArchiveRecord], archived_on: date) -> pl.DataFrame:
    """The rows of records of one topic, in the topic's schema."""
    if not records:
        raise ValueError("no records")
    topic = records[0].topic
    columns: dict[str, list[Any]] = {name: [] for name in schema(topic)}
    decoded = DECODED[kind_of(topic)]
    timestamps: list[int | None] = []
    for record in records:
        if record.topic != topic:
            raise ValueError(f"records of {record.topic} among those of {topic}")
        key, key_b64 = _text(record.key)
        value, value_b64 = _text(record.value)
        columns["topic"].append(topic)
        columns["partition"].append(record.partition)
        columns["offset"].append(record.offset)
        columns["key"].append(key)
        columns["key_base64"].append(key_b64)
        timestamps.append(record.timestamp_ms)
        columns["day"].append(record.day(archived_on))
        columns["value"].append(value)
        columns["value_base64"].append(value_b64)
        document = decode(record.value)
        for name, path, dtype in decoded:
            columns[name].append(_CONVERT[type(dtype)](_at(document, path)))
    columns["timestamp"] = timestamps
    types = schema(topic)
    types_in = {**types, "timestamp": pl.Int64()}
    built = pl.DataFrame(columns, schema=types_in)
    return built.with_columns(
        pl.col("timestamp").cast(pl.Datetime("ms")).dt.replace_time_zone("UTC")
    ).select(list(types))
