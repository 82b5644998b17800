"""The fault tests' audit of notices finds an assessment without its notice (no broker
needed)."""

from __future__ import annotations

from typing import Any

from pipeline.notices.build import notice_id
from tests.integration.faults import judge_notices
from tests.integration.test_faults_audit import Topic


def _assessment(declaration_id: str, version: int, outcome: str, **extra: Any) -> dict[str, object]:
    return {"declaration_id": declaration_id, "version": version, "outcome": outcome, **extra}


def _notice(declaration_id: str, version: int, kind: str) -> dict[str, Any]:
    return {
        "declaration_id": declaration_id,
        "version": version,
        "kind": kind,
        "notice_id": notice_id(declaration_id, version, kind),
    }


def _assessments() -> Topic:
    return (
        Topic()
        .add("X", _assessment("X", 1, "HRCM"))
        .add("X", _assessment("X", 2, "ASSESSMENT_COMPLETE", message_type="AMENDMENT"))
        .add("Y", _assessment("Y", 1, "RFI"))
        .add("Y", _assessment("Y", 2, "INVALIDATED", message_type="INVALIDATION"))
    )


def _notices() -> list[dict[str, Any]]:
    return [
        _notice("X", 1, "HRCM"),
        _notice("X", 1, "REFERRAL_CLOSED"),
        _notice("X", 2, "ASSESSMENT_COMPLETE"),
        _notice("Y", 1, "RFI"),
        _notice("Y", 1, "REFERRAL_CLOSED"),
    ]


def test_every_assessment_with_its_notice_passes_and_duplicates_are_counted() -> None:
    result = judge_notices(_assessments().records, [*_notices(), _notice("Y", 1, "RFI")])
    assert result.problems == []
    assert (result.expected, result.missing, result.duplicates) == (3, 0, 1)
    assert result.notice_records == 6


def test_an_assessment_without_its_notice_is_missing() -> None:
    notices = [n for n in _notices() if n["version"] != 2]
    result = judge_notices(_assessments().records, notices)
    assert result.missing == 1
    assert result.problems == ["no notice for ('X', 2, 'ASSESSMENT_COMPLETE')"]


def test_a_version_any_screening_found_superseded_needs_no_notice() -> None:
    # Screened again after a kill, when version 2 was already in the table: superseded then.
    assessments = _assessments().add("X", _assessment("X", 1, "HRCM", superseded_by=2))
    notices = [n for n in _notices() if (n["declaration_id"], n["version"]) != ("X", 1)]
    result = judge_notices(assessments.records, notices)
    assert (result.expected, result.missing) == (2, 0)
