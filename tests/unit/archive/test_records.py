"""Decoding for queries is defensive: whatever a value holds, the record is archived whole."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime

import orjson
import polars as pl
import pytest

from pipeline import topics
from pipeline.archive.records import ArchiveRecord, frame, schema
from pipeline.archive.sources import ARCHIVED_TOPICS, DEAD_LETTER_TOPICS, kind_of
from tests.unit.archive.helpers import DAY1_MS, assessment_value, rec

TODAY = date(2026, 12, 6)


def test_an_assessment_is_kept_whole_with_its_query_columns() -> None:
    value = assessment_value("GB1", version=3)
    row = frame([rec(7, 2, value=value, key=b"GB1")], TODAY).row(0, named=True)
    assert row["topic"] == topics.ASSESSMENTS
    assert (row["partition"], row["offset"], row["key"]) == (2, 7, "GB1")
    assert row["value"].encode() == value
    assert row["timestamp"] == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert row["day"] == date(2026, 11, 20)
    assert (row["declaration_id"], row["version"], row["outcome"]) == ("GB1", 3, "RFI")
    assert row["score"] == 42.5
    assert row["assessed_at"] == datetime(2026, 11, 20, 8, 0, 0, 123000, tzinfo=UTC)
    assert row["key_base64"] is None
    assert row["value_base64"] is None


@pytest.mark.parametrize(
    "value",
    [
        b"{not json",
        b"[1, 2]",
        b'"a string"',
        b'{"declaration_id": 12, "version": "2", "score": true, "assessed_at": "yesterday"}',
        b'{"version": 99999999999999999999999}',
        b"",
    ],
)
def test_a_value_that_does_not_decode_is_archived_with_nulls(value: bytes) -> None:
    row = frame([rec(1, value=value)], TODAY).row(0, named=True)
    assert row["value"].encode() == value
    for column in ("declaration_id", "version", "outcome", "score", "assessed_at"):
        assert row[column] is None


def test_bytes_that_are_not_utf8_are_kept_in_base64() -> None:
    raw = b'\xff\xfe{"declaration_id": "X"}'
    row = frame([rec(1, value=raw, key=b"\xc3")], TODAY).row(0, named=True)
    assert row["value"] is None
    assert base64.b64decode(row["value_base64"]) == raw
    assert row["key"] is None
    assert base64.b64decode(row["key_base64"]) == b"\xc3"


def test_a_tombstone_is_archived_with_a_null_value() -> None:
    tombstone = ArchiveRecord(topics.HITS, 0, 4, b"GB1", None, DAY1_MS)
    row = frame([tombstone], TODAY).row(0, named=True)
    assert row["value"] is None
    assert row["value_base64"] is None
    assert row["declaration_id"] is None
    assert row["key"] == "GB1"


def test_a_record_without_a_timestamp_is_filed_on_the_day_it_is_archived() -> None:
    row = frame([rec(1, timestamp_ms=None)], TODAY).row(0, named=True)
    assert row["timestamp"] is None
    assert row["day"] == TODAY


def test_dead_letters_hits_and_declarations_have_their_own_columns() -> None:
    rejection = orjson.dumps({"error": {"code": "SCHEMA", "message": "m"}, "original": "e30="})
    row = frame([rec(1, topic=topics.DLQ, value=rejection)], TODAY).row(0, named=True)
    assert row["reason"] == "SCHEMA"
    odd = frame([rec(2, topic=topics.DLQ, value=b'{"error": "x"}')], TODAY)
    assert odd["reason"].to_list() == [None]

    hit = assessment_value("H1", 2, priority=1)
    assert frame([rec(1, topic=topics.HITS, value=hit)], TODAY).select(
        "declaration_id", "version", "outcome"
    ).row(0) == ("H1", 2, "RFI")

    filing = orjson.dumps(
        {"declaration_id": "F1", "version": 1, "message_type": "FILING", "submitted_at": "x"}
    )
    row = frame([rec(1, topic=topics.DECLARATIONS, value=filing)], TODAY).row(0, named=True)
    assert (row["declaration_id"], row["message_type"], row["submitted_at"]) == (
        "F1",
        "FILING",
        None,
    )


def test_every_archived_topic_has_a_schema_with_the_record_columns() -> None:
    assert set(DEAD_LETTER_TOPICS) == {
        topics.DLQ,
        topics.REFERRAL_RESPONSES_DLQ,
        topics.C2C_INBOUND_DLQ,
    }
    assert {topics.DECLARATIONS, topics.ASSESSMENTS, topics.HITS} <= set(ARCHIVED_TOPICS)
    for topic in ARCHIVED_TOPICS:
        columns = schema(topic)
        assert list(columns)[:9] == [
            "topic",
            "partition",
            "offset",
            "key",
            "key_base64",
            "timestamp",
            "day",
            "value",
            "value_base64",
        ]
    assert kind_of(topics.partner_inbound_topic("nl")) == "partner_message"
    assert schema(topics.ASSESSMENTS)["score"] == pl.Float64()
