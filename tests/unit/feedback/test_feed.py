"""Raw records from both topics through the join, and the report built from them."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pipeline import topics
from pipeline.feedback.decode import decode_assessment, decode_examination
from pipeline.feedback.feed import DictJoinStore, feed
from pipeline.feedback.join import JoinEntry
from pipeline.feedback.report import build_report
from pipeline.records import InputRecord


def assessment(
    declaration_id: str, version: int, outcome: str, *rules: str, **extra: Any
) -> InputRecord:
    document = {
        "declaration_id": declaration_id,
        "version": version,
        "outcome": outcome,
        "score": 60.0,
        "matches": [
            {
                "rule_id": r,
                "rule_version": 1,
                "action": "HRCM",
                "score": 60,
                "reason": "r",
                "evidence": {},
            }
            for r in rules
        ],
        "shadow_matches": [{"rule_id": "SHADOW-ONLY", "rule_version": 1}],
        "parties": [],
        "ruleset_version": "rs-1",
        "submitted_at": "2026-11-20T08:00:00Z",
        "assessed_at": "2026-11-20T08:00:01Z",
        "superseded_versions": [],
        **extra,
    }
    return InputRecord(topics.ASSESSMENTS, declaration_id.encode(), orjson.dumps(document), 0, 0)


def examination(declaration_id: str, version: int, result: str, offset: int = 0) -> InputRecord:
    document = {
        "declaration_id": declaration_id,
        "version": version,
        "result": result,
        "examined_at": "2026-11-21T10:00:00Z",
        "officer_ref": "OFF-7",
    }
    return InputRecord(
        topics.EXAMINATION_RESULTS, declaration_id.encode(), orjson.dumps(document), 0, offset
    )


def test_records_from_both_topics_make_the_report() -> None:
    store = DictJoinStore()
    result = feed(
        [
            examination("EARLY", 1, "SEIZURE"),  # before its assessment
            assessment("ARMS", 1, "HRCM", "HS-ARMS-93"),
            assessment("ARMS", 1, "HRCM", "HS-ARMS-93"),  # redelivered
            assessment("EARLY", 1, "HRCM", "HS-ARMS-93"),
            assessment("CLEAN", 1, "ASSESSMENT_COMPLETE"),
            assessment("CLEAN", 2, "ASSESSMENT_COMPLETE"),
            examination("ARMS", 1, "NO_FINDING"),
            examination("ARMS", 1, "NO_FINDING"),  # redelivered
            examination("CLEAN", 1, "IRREGULARITY"),
            examination("CLEAN", 2, "NO_FINDING"),
            examination("GHOST", 4, "NO_FINDING"),  # no such declaration version
        ],
        store,
    )
    report = build_report(result, store.entries)
    assert report["rules"] == [
        {
            "rule_id": "HS-ARMS-93",
            "referrals": 2,
            "examinations": 2,
            "seizures": 1,
            "irregularities": 0,
            "precision": 0.5,
            "lift": 1.0,
        }
    ]
    assert report["baseline"] == {"examinations": 2, "findings": 1, "finding_rate": 0.5}
    assert report["without_assessment"] == {
        "count": 1,
        "versions": [{"declaration_id": "GHOST", "version": 4}],
    }
    assert report["assessments"] == 4
    assert report["examination_results"] == {
        "joined": 4,
        "duplicates": 1,
        "conflicts": 0,
        "malformed": 0,
    }
    kinds = [(n.kind, n.where) for n in result.notices]
    assert kinds == [("examination_waiting", "EARLY/1"), ("examination_waiting", "GHOST/4")]
    assert store.entries["ARMS/1"] == JoinEntry("HRCM", "NO_FINDING", ("HS-ARMS-93",))


def test_shadow_matches_are_not_referrals() -> None:
    store = DictJoinStore()
    result = feed([assessment("D", 1, "RFI", "DESC-MISSING")], store)
    assert dict(result.tally.referrals) == {"DESC-MISSING": 1}


def test_a_late_assessment_of_an_older_version_is_not_a_referral() -> None:
    store = DictJoinStore()
    result = feed([assessment("D", 1, "DNL", "WL-DNL", superseded_by=2)], store)
    assert not result.tally.referrals
    assert store.entries["D/1"] == JoinEntry("CLEAR")


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (b"D", None, "no value"),
        (b"D", b"{not json", "not valid JSON"),
        (b"D", b"[1, 2]", "not an ExaminationResult"),
        (b"D", orjson.dumps({"declaration_id": "D", "version": 1}), "not an ExaminationResult"),
        (
            b"D",
            orjson.dumps(
                {
                    "declaration_id": "D",
                    "version": 1,
                    "result": "MAYBE",
                    "examined_at": "2026-11-21T10:00:00Z",
                }
            ),
            "not an ExaminationResult",
        ),
        (
            b"OTHER",
            orjson.dumps(
                {
                    "declaration_id": "D",
                    "version": 1,
                    "result": "SEIZURE",
                    "examined_at": "2026-11-21T10:00:00Z",
                }
            ),
            "the record key",
        ),
        (
            None,
            orjson.dumps(
                {
                    "declaration_id": "D",
                    "version": 1,
                    "result": "SEIZURE",
                    "examined_at": "2026-11-21T10:00:00Z",
                }
            ),
            "the record key",
        ),
        (b"D", b" " * 70_000, "bytes; the limit"),
        (b"D", b"\xff\xfe", "not valid JSON"),
    ],
)
def test_malformed_examination_results_are_counted_and_skipped(
    key: bytes | None, value: bytes | None, reason: str
) -> None:
    assert reason in str(decode_examination(key, value))
    store = DictJoinStore()
    record = InputRecord(topics.EXAMINATION_RESULTS, key, value, 3, 17)
    result = feed([record, examination("D", 1, "SEIZURE")], store)
    assert result.malformed == 1
    (malformed, waiting) = result.notices
    assert (malformed.kind, malformed.where) == (
        "examination_malformed",
        f"{topics.EXAMINATION_RESULTS}[3]@17",
    )
    assert reason in malformed.detail
    assert waiting.where == "D/1"  # the next record is joined as usual
    assert build_report(result, store.entries)["examination_results"]["malformed"] == 1


def test_unreadable_assessments_and_tombstones_are_skipped() -> None:
    assert decode_assessment(None) is None
    assert decode_assessment(b"{broken") is None
    records = [
        InputRecord(topics.ASSESSMENTS, b"D", None, 0, 0),
        InputRecord(topics.ASSESSMENTS, b"D", b"[]", 0, 1),
    ]
    result = feed(records, DictJoinStore())
    assert result.unreadable_assessments == 1
    assert not result.tally.events


def test_an_empty_report_has_no_ratios() -> None:
    store = DictJoinStore()
    report = build_report(feed([], store), store.entries)
    assert report["rules"] == []
    assert report["baseline"] == {"examinations": 0, "findings": 0, "finding_rate": None}
    assert report["without_assessment"] == {"count": 0, "versions": []}
