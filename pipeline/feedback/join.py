"""The join of assessments and examination results, one small entry per declaration version.

Pure state transitions: the worker keeps the entries in a Faust table, the command line in a
dict; both feed the same records through these functions and get the same figures.

An entry holds what the statistics need and no more: whether the version was referred (and by
which active rules), and the examination result once one arrived. Either side may come first.
Each transition adds to a ``Tally`` only what changes, so a redelivered record adds nothing:

- the first assessment of a version counts; another one for the same version is a duplicate
  (a redelivery, or the same version screened again after a crash);
- the first examination result counts; the same result again is a duplicate; a different one
  is a conflict and is not applied (counters never go back), except that ``NOT_EXAMINED`` gives
  way to a later examination.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from pipeline.feedback.stats import EXAMINED, FINDINGS, Tally

__all__ = [
    "CLEAR",
    "PENDING",
    "Assessed",
    "Examined",
    "JoinEntry",
    "apply_assessment",
    "apply_examination",
    "entry_key",
    "waiting",
]

REFERRALS = frozenset({"RFI", "HRCM", "DNL"})
# Status of an entry's assessment side, besides the referral outcomes RFI, HRCM and DNL.
PENDING = "PENDING"  # no assessment of this version yet; the entry holds an examination result
CLEAR = "CLEAR"  # assessed and not referred (no referral outcome, or superseded: no hit raised)
NOT_EXAMINED = "NOT_EXAMINED"
_NO_RESULT = "-"


@dataclass(frozen=True, slots=True)
class Assessed:
    """What the join keeps of an assessment."""

    declaration_id: str
    version: int
    outcome: str
    rule_ids: tuple[str, ...]  # active rules that matched, in the assessment's order
    superseded: bool = False  # assessed after a newer version: it raised no hit

    @property
    def referred(self) -> bool:
        return self.outcome in REFERRALS and not self.superseded


@dataclass(frozen=True, slots=True)
class Examined:
    """An examination result, as the join reads it."""

    declaration_id: str
    version: int
    result: str


@dataclass(frozen=True, slots=True)
class JoinEntry:
    status: str  # PENDING, CLEAR, or the referral outcome (RFI, HRCM, DNL)
    result: str | None = None  # the examination result that counts, once one arrived
    rule_ids: tuple[str, ...] = ()  # kept for referred versions only: nothing else needs them

    @property
    def assessed(self) -> bool:
        return self.status != PENDING

    @property
    def referred(self) -> bool:
        return self.status in REFERRALS

    def to_text(self) -> str:
        """One short string, e.g. ``HRCM SEIZURE HS-ARMS-93 ROUTE-HIGH-RISK`` or ``CLEAR -``:
        one object in memory, and readable in the table's changelog."""
        return " ".join((self.status, self.result or _NO_RESULT, *self.rule_ids))

    @classmethod
    def from_text(cls, text: str) -> JoinEntry:
        status, result, *rule_ids = text.split(" ")
        return cls(status, None if result == _NO_RESULT else result, tuple(rule_ids))


def entry_key(declaration_id: str, version: int) -> str:
    # Declaration ids never contain "/" (contract: A-Z a-z 0-9 - _).
    return f"{declaration_id}/{version}"


def apply_assessment(
    entry: JoinEntry | None, assessed: Assessed, tally: Tally
) -> tuple[JoinEntry | None, str]:
    """The entry after ``assessed`` (None when nothing changes), and the event it was."""
    if entry is not None and entry.assessed:
        return None, _event(tally, "assessment_duplicate")
    if assessed.referred:
        rule_ids = tuple(dict.fromkeys(assessed.rule_ids))  # a rule counts once per version
        updated = JoinEntry(assessed.outcome, entry.result if entry else None, rule_ids)
        tally.referrals.update(rule_ids)
    else:
        updated = JoinEntry(CLEAR, entry.result if entry else None)
    if updated.result is not None:
        # The examination result was waiting for this assessment.
        tally.events["examination_joined_late"] += 1
        _count_examination(updated, tally)
    return updated, _event(tally, "assessment_joined")


def apply_examination(
    entry: JoinEntry | None, examined: Examined, tally: Tally
) -> tuple[JoinEntry | None, str]:
    """The entry after ``examined`` (None when nothing changes), and the event it was."""
    held = entry.result if entry else None
    if held == examined.result:
        return None, _event(tally, "examination_duplicate")
    if held is not None and held != NOT_EXAMINED:
        return None, _event(tally, "examination_conflict")
    updated = replace(entry or JoinEntry(PENDING), result=examined.result)
    if not updated.assessed:
        return updated, _event(tally, "examination_waiting")
    _count_examination(updated, tally)
    return updated, _event(tally, "examination_joined")


def _event(tally: Tally, event: str) -> str:
    tally.events[event] += 1
    return event


def _count_examination(entry: JoinEntry, tally: Tally) -> None:
    result = entry.result
    if result not in EXAMINED:
        return  # NOT_EXAMINED: the referral stands, there is nothing to learn from it yet
    if entry.referred:
        tally.examinations.update(entry.rule_ids)
        if result == "SEIZURE":
            tally.seizures.update(entry.rule_ids)
        elif result == "IRREGULARITY":
            tally.irregularities.update(entry.rule_ids)
    else:
        tally.unreferred_examinations += 1
        if result in FINDINGS:
            tally.unreferred_findings += 1


def waiting(entries: Iterable[tuple[str, JoinEntry]]) -> list[str]:
    """Keys of the versions that have an examination result and no assessment."""
    return sorted(key for key, entry in entries if not entry.assessed)
