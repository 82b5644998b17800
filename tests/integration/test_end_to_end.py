"""Declarations through the real broker and a real worker: assessments, hits, dead letters."""

from __future__ import annotations

import base64
from collections import Counter

import orjson
import pytest
from confluent_kafka import Producer

from pipeline import topics
from pipeline.contract.schemas import load_schema
from pipeline.settings import Settings
from tests.factories import amendment, encode, filing, invalidation
from tests.integration.conftest import collect, key_prefix, publish

pytestmark = pytest.mark.integration


def _values(records: list) -> list[dict]:
    return [orjson.loads(r.value) for r in records if r.value is not None]


def test_every_valid_declaration_gets_exactly_one_assessment(
    settings: Settings, worker: object, producer: Producer, run_id: str
) -> None:
    clean = [filing(f"{run_id}-C{i}") for i in range(40)]
    arms = [filing(f"{run_id}-A{i}", hs_code="930690") for i in range(10)]
    publish(producer, [encode(d) for d in clean + arms])

    assessments = collect(settings, topics.ASSESSMENTS, key_prefix(run_id), expected=50)
    hits = collect(settings, topics.HITS, key_prefix(run_id), expected=10)

    per_id = Counter((a["declaration_id"], a["version"]) for a in _values(assessments))
    assert len(per_id) == 50
    assert set(per_id.values()) == {1}
    outcomes = {a["declaration_id"]: a["outcome"] for a in _values(assessments)}
    assert {outcomes[d["declaration_id"]] for d in clean} == {"ASSESSMENT_COMPLETE"}
    assert {outcomes[d["declaration_id"]] for d in arms} == {"HRCM"}
    hit_values = _values(hits)
    assert sorted(h["declaration_id"] for h in hit_values) == sorted(
        d["declaration_id"] for d in arms
    )
    assert all(h["priority"] == 2 and h["summary"].startswith("HRCM") for h in hit_values)


def test_amendments_out_of_order_versions_and_invalidations(
    settings: Settings, worker: object, producer: Producer, run_id: str
) -> None:
    cleared = filing(f"{run_id}-CLEARED", hs_code="930690")
    late = filing(f"{run_id}-LATE")
    invalidated = filing(f"{run_id}-INVALID", hs_code="930690")
    publish(
        producer,
        [
            encode(cleared),
            encode(amendment(cleared, 2, "940360")),  # the referral is closed
            encode(amendment(late, 3, "930690")),  # version 3 first ...
            encode(late),  # ... then version 1 arrives late
            encode(invalidated),
            encode(invalidation(invalidated["declaration_id"], 2)),
        ],
    )

    # Six versions, and version 3's assessment again after the late version 1's.
    records = collect(settings, topics.ASSESSMENTS, key_prefix(run_id), expected=7)
    assessments = _values(records)
    by_version = {(a["declaration_id"], a["version"]): a for a in assessments}
    assert len(assessments) == 7
    assert len(by_version) == 6

    assert by_version[(cleared["declaration_id"], 1)]["outcome"] == "HRCM"
    amended = by_version[(cleared["declaration_id"], 2)]
    assert amended["outcome"] == "ASSESSMENT_COMPLETE"
    assert amended["superseded_versions"] == [1]

    late_one = by_version[(late["declaration_id"], 1)]
    assert late_one["superseded_by"] == 3
    assert by_version[(late["declaration_id"], 3)]["outcome"] == "HRCM"
    # The compacted topic keeps the last record of a key: version 3's, byte for byte.
    late_key = late["declaration_id"].encode()
    of_late = [r.value for r in records if r.key == late_key]
    assert [orjson.loads(v or b"")["version"] for v in of_late] == [3, 1, 3]
    assert of_late[-1] == of_late[0]

    gone = by_version[(invalidated["declaration_id"], 2)]
    assert gone["outcome"] == "INVALIDATED"
    assert gone["matches"] == []
    assert gone["superseded_versions"] == [1]

    hits = collect(settings, topics.HITS, key_prefix(run_id), expected=5)
    sequence = [
        (r.key.decode(), orjson.loads(r.value)["version"] if r.value else None) for r in hits
    ]
    per_key: dict[str, list[int | None]] = {}
    for key, version in sequence:
        per_key.setdefault(key, []).append(version)
    # A hit, then a tombstone when the amendment clears it or the filer invalidates.
    assert per_key[cleared["declaration_id"]] == [1, None]
    assert per_key[invalidated["declaration_id"]] == [1, None]
    # The late version 1 raises nothing: only version 3's hit exists.
    assert per_key[late["declaration_id"]] == [3]


BAD_MESSAGES: list[tuple[str, bytes | None, str, str | None]] = [
    ("json", b'{"declaration_id": "X", ', "INVALID_JSON", None),
    ("empty", b"", "INVALID_JSON", None),
    ("array", b"[1, 2, 3]", "NOT_AN_OBJECT", "$"),
    ("null", None, "NOT_AN_OBJECT", None),
    ("utf8", b'{"declaration_id": "\xff\xfe"}', "ENCODING", None),
    ("type", b'{"declaration_id": "X", "version": "one"}', "SCHEMA", "$.version"),
    ("big", b'{"pad": "' + b"x" * 1_100_000 + b'"}', "TOO_LARGE", None),
]


def test_bad_messages_go_to_the_dead_letter_topic_and_the_next_is_screened(
    settings: Settings, worker: object, producer: Producer, run_id: str
) -> None:
    good = filing(f"{run_id}-GOOD")
    messages = [(f"{run_id}-{name}".encode(), value) for name, value, _, _ in BAD_MESSAGES]
    publish(producer, [*messages, encode(good)])

    dead = collect(settings, topics.DLQ, key_prefix(run_id), expected=len(BAD_MESSAGES))
    assert len(dead) == len(BAD_MESSAGES)
    by_key = {r.key.decode(): orjson.loads(r.value) for r in dead}
    validator_schema = load_schema("rejection")
    import jsonschema

    for name, value, code, path in BAD_MESSAGES:
        rejection = by_key[f"{run_id}-{name}"]
        assert rejection["error"]["code"] == code, name
        assert rejection["error"]["path"] == path, name
        assert base64.b64decode(rejection["original"]) == (value or b""), name
        assert rejection["source"]["topic"] == topics.DECLARATIONS
        jsonschema.validate(rejection, validator_schema)

    assessed = collect(settings, topics.ASSESSMENTS, key_prefix(f"{run_id}-GOOD"), expected=1)
    assert [orjson.loads(r.value)["outcome"] for r in assessed] == ["ASSESSMENT_COMPLETE"]


def test_produced_messages_match_the_shipped_schemas(
    settings: Settings, worker: object, producer: Producer, run_id: str
) -> None:
    import jsonschema

    document = filing(f"{run_id}-S", hs_code="930690")
    publish(producer, [encode(document)])
    assessment = collect(settings, topics.ASSESSMENTS, key_prefix(run_id), expected=1)
    hit = collect(settings, topics.HITS, key_prefix(run_id), expected=1)
    jsonschema.validate(document, load_schema("declaration"))
    jsonschema.validate(orjson.loads(assessment[0].value), load_schema("assessment"))
    jsonschema.validate(orjson.loads(hit[0].value), load_schema("hit"))
