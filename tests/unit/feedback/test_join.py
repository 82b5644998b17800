"""The join of assessments and examination results: order, duplicates, conflicts."""

from __future__ import annotations

import pytest

from pipeline.feedback.join import (
    CLEAR,
    PENDING,
    Assessed,
    Examined,
    JoinEntry,
    apply_assessment,
    apply_examination,
    entry_key,
    waiting,
)
from pipeline.feedback.stats import Tally

REFERRED = Assessed("D1", 1, "HRCM", ("HS-ARMS-93", "ROUTE-HIGH-RISK"))
CLEARED = Assessed("D1", 1, "ASSESSMENT_COMPLETE", ("HS-COUNTERFEIT-PRONE",))


def examined(result: str) -> Examined:
    return Examined("D1", 1, result)


def run(*steps: Assessed | Examined) -> tuple[JoinEntry | None, Tally, list[str]]:
    entry: JoinEntry | None = None
    tally = Tally()
    events = []
    for step in steps:
        if isinstance(step, Assessed):
            updated, event = apply_assessment(entry, step, tally)
        else:
            updated, event = apply_examination(entry, step, tally)
        events.append(event)
        entry = updated if updated is not None else entry
    return entry, tally, events


def test_assessment_then_examination_counts_for_every_matched_rule() -> None:
    entry, tally, events = run(REFERRED, examined("SEIZURE"))
    assert events == ["assessment_joined", "examination_joined"]
    assert entry == JoinEntry("HRCM", "SEIZURE", ("HS-ARMS-93", "ROUTE-HIGH-RISK"))
    assert tally.referrals == {"HS-ARMS-93": 1, "ROUTE-HIGH-RISK": 1}
    assert tally.examinations == {"HS-ARMS-93": 1, "ROUTE-HIGH-RISK": 1}
    assert tally.seizures == {"HS-ARMS-93": 1, "ROUTE-HIGH-RISK": 1}
    assert not tally.irregularities
    assert (tally.unreferred_examinations, tally.unreferred_findings) == (0, 0)


def test_examination_first_waits_then_joins_with_the_same_figures() -> None:
    entry, early, events = run(examined("SEIZURE"), REFERRED)
    assert events == ["examination_waiting", "assessment_joined"]
    assert early.events["examination_joined_late"] == 1
    _, in_order, _ = run(REFERRED, examined("SEIZURE"))
    assert entry == JoinEntry("HRCM", "SEIZURE", ("HS-ARMS-93", "ROUTE-HIGH-RISK"))
    for figures in ("referrals", "examinations", "seizures", "irregularities"):
        assert getattr(early, figures) == getattr(in_order, figures)


def test_an_examination_alone_is_pending_and_counts_nothing() -> None:
    entry, tally, events = run(examined("IRREGULARITY"))
    assert events == ["examination_waiting"]
    assert entry == JoinEntry(PENDING, "IRREGULARITY")
    assert not tally.examinations
    assert tally.unreferred_examinations == 0
    assert waiting([("D1/1", entry), ("D2/1", JoinEntry(CLEAR))]) == ["D1/1"]


@pytest.mark.parametrize(
    "steps",
    [
        (REFERRED, REFERRED, examined("SEIZURE")),
        (REFERRED, examined("SEIZURE"), examined("SEIZURE")),
        (examined("SEIZURE"), examined("SEIZURE"), REFERRED, REFERRED),
        (REFERRED, examined("SEIZURE"), REFERRED, examined("SEIZURE")),
    ],
)
def test_redelivered_records_count_once(steps: tuple[Assessed | Examined, ...]) -> None:
    _, tally, _ = run(*steps)
    assert tally.referrals == {"HS-ARMS-93": 1, "ROUTE-HIGH-RISK": 1}
    assert tally.examinations == {"HS-ARMS-93": 1, "ROUTE-HIGH-RISK": 1}
    assert tally.seizures == {"HS-ARMS-93": 1, "ROUTE-HIGH-RISK": 1}
    assert tally.events["assessment_joined"] == 1


def test_a_second_assessment_of_the_version_is_a_duplicate_even_if_it_differs() -> None:
    entry, tally, events = run(CLEARED, REFERRED)
    assert events == ["assessment_joined", "assessment_duplicate"]
    assert entry == JoinEntry(CLEAR)
    assert not tally.referrals


def test_a_different_result_for_a_counted_version_is_a_conflict_and_not_applied() -> None:
    entry, tally, events = run(REFERRED, examined("NO_FINDING"), examined("SEIZURE"))
    assert events[-1] == "examination_conflict"
    assert entry is not None
    assert entry.result == "NO_FINDING"
    assert tally.examinations == {"HS-ARMS-93": 1, "ROUTE-HIGH-RISK": 1}
    assert not tally.seizures


def test_not_examined_is_no_examination_and_gives_way_to_one() -> None:
    _, not_examined, _ = run(REFERRED, examined("NOT_EXAMINED"))
    assert not not_examined.examinations
    entry, tally, events = run(REFERRED, examined("NOT_EXAMINED"), examined("IRREGULARITY"))
    assert events[-1] == "examination_joined"
    assert entry is not None
    assert entry.result == "IRREGULARITY"
    assert tally.examinations == {"HS-ARMS-93": 1, "ROUTE-HIGH-RISK": 1}
    assert tally.irregularities == {"HS-ARMS-93": 1, "ROUTE-HIGH-RISK": 1}


def test_an_unreferred_examination_counts_for_the_baseline_only() -> None:
    entry, tally, _ = run(CLEARED, examined("SEIZURE"))
    assert entry == JoinEntry(CLEAR, "SEIZURE")
    assert not tally.referrals
    assert not tally.examinations
    assert (tally.unreferred_examinations, tally.unreferred_findings) == (1, 1)
    _, no_finding, _ = run(examined("NO_FINDING"), CLEARED)
    assert (no_finding.unreferred_examinations, no_finding.unreferred_findings) == (1, 0)


def test_a_superseded_version_raised_no_hit_and_is_not_a_referral() -> None:
    superseded = Assessed("D1", 1, "DNL", ("WL-DNL",), superseded=True)
    entry, tally, _ = run(superseded, examined("SEIZURE"))
    assert entry == JoinEntry(CLEAR, "SEIZURE")
    assert not tally.referrals
    assert tally.unreferred_examinations == 1


def test_a_rule_matching_twice_in_a_version_counts_once() -> None:
    twice = Assessed("D1", 1, "RFI", ("DESC-STOP-PHRASE", "DESC-STOP-PHRASE"))
    _, tally, _ = run(twice, examined("SEIZURE"))
    assert tally.referrals == {"DESC-STOP-PHRASE": 1}
    assert tally.seizures == {"DESC-STOP-PHRASE": 1}


@pytest.mark.parametrize(
    "entry",
    [
        JoinEntry(CLEAR),
        JoinEntry(PENDING, "NOT_EXAMINED"),
        JoinEntry("DNL", "SEIZURE", ("WL-DNL", "RANDOM-SELECTION")),
        JoinEntry("RFI", None, ("DESC-MISSING",)),
    ],
)
def test_entries_round_trip_through_their_text(entry: JoinEntry) -> None:
    assert JoinEntry.from_text(entry.to_text()) == entry


def test_entry_text_is_short_and_readable() -> None:
    assert JoinEntry(CLEAR).to_text() == "CLEAR -"
    assert JoinEntry("HRCM", "SEIZURE", ("HS-ARMS-93",)).to_text() == "HRCM SEIZURE HS-ARMS-93"
    assert entry_key("D-1_x", 3) == "D-1_x/3"
