"""The fault tests' audit finds each kind of loss and inconsistency (no broker needed)."""

from __future__ import annotations

import orjson

from pipeline.records import InputRecord
from tests.integration.faults import Sent, judge


class Topic:
    """Records appended to one partition, offsets counted as Kafka would."""

    def __init__(self) -> None:
        self.records: list[InputRecord] = []

    def add(self, key: str, value: dict[str, object] | None) -> Topic:
        encoded = orjson.dumps(value) if value is not None else None
        self.records.append(InputRecord("t", key.encode(), encoded, 0, len(self.records), 0))
        return self


def _assessment(declaration_id: str, version: int, outcome: str) -> dict[str, object]:
    return {"declaration_id": declaration_id, "version": version, "outcome": outcome}


def _sent() -> Sent:
    sent = Sent()
    for declaration_id, version in [("X", 1), ("X", 2), ("Y", 1)]:
        sent.add(declaration_id, version)
    return sent


def _good_run() -> tuple[Topic, Topic]:
    assessments = (
        Topic()
        .add("X", _assessment("X", 1, "HRCM"))
        .add("Y", _assessment("Y", 1, "RFI"))
        .add("X", _assessment("X", 2, "ASSESSMENT_COMPLETE"))
    )
    hits = Topic().add("X", _assessment("X", 1, "HRCM")).add("Y", _assessment("Y", 1, "RFI"))
    hits.add("X", None)  # version 2 cleared the referral
    return assessments, hits


def test_a_complete_run_passes_and_duplicates_are_counted() -> None:
    assessments, hits = _good_run()
    # Redelivery after a crash: Y and its hit again, harmless in the compacted views.
    assessments.add("Y", _assessment("Y", 1, "RFI"))
    hits.add("Y", _assessment("Y", 1, "RFI"))

    result = judge(_sent(), assessments.records, hits.records)

    assert result.problems == []
    assert (result.sent, result.assessed, result.missing) == (3, 3, 0)
    assert (result.duplicates, result.hit_duplicates) == (1, 1)
    assert (result.compacted, result.distinct_ids, result.open_hits) == (2, 2, 1)


def test_a_version_without_assessment_is_missing() -> None:
    assessments = Topic().add("X", _assessment("X", 1, "HRCM")).add("Y", _assessment("Y", 1, "RFI"))
    hits = Topic().add("X", _assessment("X", 1, "HRCM")).add("Y", _assessment("Y", 1, "RFI"))

    result = judge(_sent(), assessments.records, hits.records)

    assert result.missing == 1
    assert result.problems == [
        "X: compacted assessment is version 1, the latest sent is 2",
        "X: the open hit is not the latest version's",
    ]


def test_an_older_version_last_in_the_topic_is_found() -> None:
    assessments, hits = _good_run()
    assessments.add("X", _assessment("X", 1, "HRCM"))

    result = judge(_sent(), assessments.records, hits.records)

    assert result.missing == 0
    assert "X: compacted assessment is version 1, the latest sent is 2" in result.problems


def test_a_hit_left_open_or_never_raised_is_found() -> None:
    assessments, _ = _good_run()
    # X's tombstone never came; Y's hit never came.
    hits = Topic().add("X", _assessment("X", 1, "HRCM"))

    result = judge(_sent(), assessments.records, hits.records)

    assert sorted(result.problems) == [
        "X: latest assessment is ASSESSMENT_COMPLETE but a hit is open",
        "Y: latest assessment is RFI but no open hit",
    ]


def test_a_declaration_never_assessed_is_missing_from_the_compacted_view() -> None:
    assessments = Topic().add("Y", _assessment("Y", 1, "RFI"))
    hits = Topic().add("Y", _assessment("Y", 1, "RFI"))

    result = judge(_sent(), assessments.records, hits.records)

    assert (result.missing, result.compacted, result.distinct_ids) == (2, 1, 2)
    assert result.problems == ["X: no assessment in the compacted view"]


def _late_older_version() -> tuple[Sent, Topic, Topic]:
    """X's versions sent out of order: 2 (a clean amendment) before 1 (a referral), which is
    assessed late, superseded; its referral raises no hit."""
    sent = Sent()
    sent.add("X", 2)
    sent.add("X", 1)
    late = {**_assessment("X", 1, "HRCM"), "superseded_by": 2}
    assessments = Topic().add("X", _assessment("X", 2, "ASSESSMENT_COMPLETE")).add("X", late)
    return sent, assessments, Topic()


def test_the_latest_version_is_the_highest_sent_not_the_last() -> None:
    sent, _, _ = _late_older_version()

    assert sent.latest == {"X": 2}
    assert sent.versions == {("X", 1), ("X", 2)}


def test_a_late_older_version_last_in_the_compacted_view_is_found_and_only_that() -> None:
    sent, assessments, hits = _late_older_version()

    result = judge(sent, assessments.records, hits.records)

    assert result.missing == 0
    # The hits are judged against version 2's outcome, which opened none: one problem only.
    assert result.problems == ["X: compacted assessment is version 1, the latest sent is 2"]


def test_a_late_older_version_followed_by_the_newest_again_passes() -> None:
    sent, assessments, hits = _late_older_version()
    assessments.add("X", _assessment("X", 2, "ASSESSMENT_COMPLETE"))

    result = judge(sent, assessments.records, hits.records)

    assert result.problems == []
    assert (result.missing, result.duplicates, result.compacted) == (0, 1, 1)
