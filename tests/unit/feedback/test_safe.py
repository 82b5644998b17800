"""SAFE performance measures counted from hand-made records: the period, the join's
once-per-version rule, high-risk and random examinations, and partner messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson
import pytest

from pipeline import topics
from pipeline.feedback.safe import (
    RETENTION_DAYS,
    Period,
    PeriodError,
    SafeMeasures,
    parse_period,
    retention_warnings,
)
from pipeline.records import InputRecord
from pipeline.rules.evaluator import RANDOM_RULE_ID

PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30))
TODAY = date(2026, 12, 5)
IN = "2026-11-20T08:00:01Z"


def assessment(
    declaration_id: str,
    outcome: str,
    *rules: str,
    version: int = 1,
    assessed_at: str = IN,
    **extra: Any,
) -> InputRecord:
    document = {
        "declaration_id": declaration_id,
        "version": version,
        "outcome": outcome,
        "score": 0.0,
        "matches": [{"rule_id": r, "rule_version": 1, "action": "RFI"} for r in rules],
        "shadow_matches": [],
        "parties": [],
        "ruleset_version": "rs-1",
        "submitted_at": assessed_at,
        "assessed_at": assessed_at,
        "superseded_versions": [],
        **extra,
    }
    return InputRecord(topics.ASSESSMENTS, declaration_id.encode(), orjson.dumps(document), 0, 0)


def examination(declaration_id: str, result: str, version: int = 1) -> InputRecord:
    document = {
        "declaration_id": declaration_id,
        "version": version,
        "result": result,
        "examined_at": "2026-12-02T10:00:00Z",  # after the period: the version's period counts
        "officer_ref": "OFFICER-7",
    }
    return InputRecord(
        topics.EXAMINATION_RESULTS, declaration_id.encode(), orjson.dumps(document), 0, 0
    )


def message(
    topic: str, message_id: str, kind: str, sender: str, receiver: str, sent_at: str = IN
) -> InputRecord:
    document = {
        "message_id": message_id,
        "kind": kind,
        "from_administration": sender,
        "to_administration": receiver,
        "declaration_ref": "D-1",
        "handling": "C2C-RESTRICTED",
        "sent_at": sent_at,
        "level": "HIGH",
        "categories": ["SECURITY"],
    }
    return InputRecord(topic, b"UCR-1", orjson.dumps(document), 0, 0)


def measured(
    assessments: Sequence[InputRecord],
    results: Sequence[InputRecord] = (),
    messages: Sequence[InputRecord] = (),
) -> dict[str, Any]:
    measures = SafeMeasures(PERIOD)
    measures.add_assessments(assessments)
    measures.add_examination_results(results)
    measures.add_partner_messages(messages)
    return measures.report(TODAY)


def test_filings_screened_and_referred_by_outcome_with_shares() -> None:
    report = measured(
        [
            assessment("C1", "ASSESSMENT_COMPLETE"),
            assessment("C2", "ASSESSMENT_COMPLETE"),
            assessment("C2", "ASSESSMENT_COMPLETE"),  # redelivered: counts once
            assessment("R1", "RFI", "HS-VAGUE"),
            assessment("H1", "HRCM", "HS-ARMS-93"),
            assessment("D1", "DNL", "WATCHLIST"),
            assessment("C2", "INVALIDATED", version=2),  # invalidations apart
            assessment("OLD", "HRCM", "HS-ARMS-93", assessed_at="2026-10-31T23:59:59Z"),
            assessment("NEW", "HRCM", "HS-ARMS-93", assessed_at="2026-12-01T00:00:00Z"),
        ]
    )
    filings = report["filings"]
    assert filings["screened"] == 5
    assert filings["referred"] == 3
    assert filings["referred_share"] == pytest.approx(3 / 5)
    assert filings["by_outcome"] == {
        "RFI": {"count": 1, "share": pytest.approx(0.2)},
        "HRCM": {"count": 1, "share": pytest.approx(0.2)},
        "DNL": {"count": 1, "share": pytest.approx(0.2)},
    }


def test_period_ends_are_whole_utc_days() -> None:
    report = measured(
        [
            assessment("FIRST", "ASSESSMENT_COMPLETE", assessed_at="2026-11-01T00:00:00Z"),
            assessment("LAST", "ASSESSMENT_COMPLETE", assessed_at="2026-11-30T23:59:59.999Z"),
            # 1 December in UTC, although 30 November in New York.
            assessment("AFTER", "ASSESSMENT_COMPLETE", assessed_at="2026-11-30T20:00:00-05:00"),
        ]
    )
    assert report["filings"]["screened"] == 2


def test_a_superseded_referral_raised_no_hit_and_is_not_referred() -> None:
    report = measured([assessment("S", "HRCM", "HS-ARMS-93", superseded_by=2)])
    assert report["filings"]["screened"] == 1
    assert report["filings"]["referred"] == 0
    assert report["examinations"]["high_risk"]["consignments"] == 0


def test_high_risk_and_random_examinations_and_their_hit_rates() -> None:
    report = measured(
        [
            assessment("H1", "HRCM", "HS-ARMS-93"),
            assessment("H2", "HRCM", "HS-ARMS-93"),
            assessment("H3", "DNL", "WATCHLIST"),
            assessment("H4", "HRCM", "HS-ARMS-93"),  # never examined
            assessment("R1", "RFI", "HS-VAGUE"),  # referred, not high risk
            assessment("X1", "RFI", RANDOM_RULE_ID),
            assessment("X2", "RFI", RANDOM_RULE_ID),
            assessment("X3", "RFI", RANDOM_RULE_ID),
            assessment("C1", "ASSESSMENT_COMPLETE"),
        ],
        [
            examination("H1", "SEIZURE"),
            examination("H2", "NO_FINDING"),
            examination("H3", "NOT_EXAMINED"),
            examination("H3", "IRREGULARITY"),  # NOT_EXAMINED gives way to an examination
            examination("H1", "SEIZURE"),  # redelivered
            examination("H2", "SEIZURE"),  # conflicts with the counted NO_FINDING: not applied
            examination("R1", "NO_FINDING"),
            examination("X1", "NO_FINDING"),
            examination("X2", "NOT_EXAMINED"),
            examination("C1", "IRREGULARITY"),
            examination("GHOST", "SEIZURE"),  # no assessment in the period
            examination("OLD", "SEIZURE"),
        ],
    )
    examinations = report["examinations"]
    assert examinations["high_risk"] == {
        "consignments": 4,
        "examined": 3,
        "results": {"SEIZURE": 1, "IRREGULARITY": 1, "NO_FINDING": 1, "NOT_EXAMINED": 0},
        "findings": 2,
        "hit_rate": pytest.approx(2 / 3),
    }
    assert examinations["random"] == {
        "consignments": 3,
        "examined": 1,
        "results": {"SEIZURE": 0, "IRREGULARITY": 0, "NO_FINDING": 1, "NOT_EXAMINED": 1},
        "findings": 0,
        "hit_rate": 0.0,
    }
    assert examinations["all"] == {
        "consignments": 7,
        "examined": 6,
        "results": {"SEIZURE": 1, "IRREGULARITY": 2, "NO_FINDING": 3, "NOT_EXAMINED": 1},
        "findings": 3,
        "hit_rate": pytest.approx(0.5),
    }
    assert examinations["not_in_period"] == 2


def test_ratios_without_a_denominator_are_none() -> None:
    report = measured([])
    assert report["filings"]["screened"] == 0
    assert report["filings"]["referred_share"] is None
    assert report["filings"]["by_outcome"]["DNL"] == {"count": 0, "share": None}
    assert report["examinations"]["random"]["hit_rate"] is None
    assert report["partners"] == []


def test_partner_messages_by_partner_kind_and_direction() -> None:
    partner_topic = topics.partner_inbound_topic("nl")
    report = measured(
        [],
        messages=[
            message(topics.C2C_OUTBOUND, "m1", "RISK_FINDING", "GB", "NL"),
            message(topics.C2C_OUTBOUND, "m1", "RISK_FINDING", "GB", "NL"),  # a replay
            message(topics.C2C_OUTBOUND, "m2", "EXAMINATION_REQUEST", "GB", "US"),
            message(topics.C2C_OUTBOUND, "m3", "RISK_FINDING", "GB", "NL", "2026-12-01T00:00:01Z"),
            message(partner_topic, "m1", "EXAMINATION_RESULT", "NL", "GB"),  # ids are per sender
            message(partner_topic, "n2", "RISK_FINDING", "NL", "GB"),
            InputRecord(partner_topic, b"x", b"{not json", 0, 7),
            InputRecord(partner_topic, b"x", None, 0, 8),
        ],
    )
    assert report["partners"] == [
        {
            "partner": "NL",
            "sent": {
                "RISK_FINDING": 1,
                "EXAMINATION_REQUEST": 0,
                "EXAMINATION_RESULT": 0,
                "total": 1,
            },
            "received": {
                "RISK_FINDING": 1,
                "EXAMINATION_REQUEST": 0,
                "EXAMINATION_RESULT": 1,
                "total": 2,
            },
        },
        {
            "partner": "US",
            "sent": {
                "RISK_FINDING": 0,
                "EXAMINATION_REQUEST": 1,
                "EXAMINATION_RESULT": 0,
                "total": 1,
            },
            "received": {
                "RISK_FINDING": 0,
                "EXAMINATION_REQUEST": 0,
                "EXAMINATION_RESULT": 0,
                "total": 0,
            },
        },
    ]
    assert report["unreadable"]["partner_messages"] == 1


def test_unreadable_records_are_counted_not_raised() -> None:
    measures = SafeMeasures(PERIOD)
    measures.add_assessments(
        [
            InputRecord(topics.ASSESSMENTS, b"k", b"{not json", 0, 0),
            InputRecord(topics.ASSESSMENTS, b"k", None, 0, 1),
            # Readable by the join, but of no period: not screened in this one.
            InputRecord(
                topics.ASSESSMENTS,
                b"N",
                orjson.dumps({"declaration_id": "N", "version": 1, "outcome": "HRCM"}),
                0,
                2,
            ),
            assessment("C1", "ASSESSMENT_COMPLETE"),
        ]
    )
    measures.add_examination_results([InputRecord(topics.EXAMINATION_RESULTS, b"k", b"[]", 0, 0)])
    report = measures.report(TODAY)
    assert report["filings"]["screened"] == 1
    assert report["unreadable"] == {
        "assessments": 2,
        "examination_results": 1,
        "partner_messages": 0,
    }


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-11-31", "2026-12-01", "--from '2026-11-31' is not a date (YYYY-MM-DD)"),
        ("2026-11-01", "yesterday", "--to 'yesterday' is not a date (YYYY-MM-DD)"),
        ("2026-12-02", "2026-12-01", "--from 2026-12-02 is after --to 2026-12-01"),
    ],
)
def test_bad_periods_are_refused_in_one_line(start: str, end: str, message: str) -> None:
    with pytest.raises(PeriodError) as raised:
        parse_period(start, end)
    assert str(raised.value) == message


def test_one_day_is_a_period() -> None:
    assert parse_period("2026-12-01", "2026-12-01") == Period(date(2026, 12, 1), date(2026, 12, 1))


def test_a_period_beyond_retention_is_warned_about_not_refused() -> None:
    assert RETENTION_DAYS == 30
    assert retention_warnings(Period(date(2026, 11, 5), TODAY), TODAY) == []
    (warning,) = retention_warnings(Period(date(2026, 11, 4), TODAY), TODAY)
    assert "Kafka keeps assessments for 30 days: days before 2026-11-05" in warning
    report = SafeMeasures(Period(date(2026, 1, 1), TODAY)).report(TODAY)
    assert report["warnings"] == [warning]
