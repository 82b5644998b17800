"""Per-rule effectiveness: referrals, examinations, findings, precision and lift.

Definitions (docs/rule-effectiveness.md explains them for analysts):

- a rule's *referrals*: declaration versions referred (RFI, HRCM or DNL, and not superseded)
  in which the rule matched as an active rule;
- its *examinations*: those of its referrals with a result SEIZURE, IRREGULARITY or
  NO_FINDING (NOT_EXAMINED is not an examination); *findings* are SEIZURE + IRREGULARITY;
- its *precision*: findings / examinations;
- the *baseline*: findings / examinations over the declaration versions that were assessed and
  not referred (an examination there was not chosen by any rule);
- its *lift*: precision / baseline.

A ratio whose denominator is zero is undefined and given as None, never as 0 or infinity:
a rule without examinations has no precision, and without an examined, unreferred version
with a finding there is no baseline to compare with.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Tally", "baseline", "lift", "ratio", "rule_figures"]

FINDINGS = frozenset({"SEIZURE", "IRREGULARITY"})
EXAMINED = frozenset({"SEIZURE", "IRREGULARITY", "NO_FINDING"})


@dataclass(slots=True)
class Tally:
    """Counts added by join transitions: per rule, for the baseline, and per kind of event."""

    referrals: Counter[str] = field(default_factory=Counter)
    examinations: Counter[str] = field(default_factory=Counter)
    seizures: Counter[str] = field(default_factory=Counter)
    irregularities: Counter[str] = field(default_factory=Counter)
    unreferred_examinations: int = 0
    unreferred_findings: int = 0
    # assessment_joined, assessment_duplicate, examination_joined, examination_waiting,
    # examination_joined_late, examination_duplicate, examination_conflict
    events: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.referrals.update(other.referrals)
        self.examinations.update(other.examinations)
        self.seizures.update(other.seizures)
        self.irregularities.update(other.irregularities)
        self.unreferred_examinations += other.unreferred_examinations
        self.unreferred_findings += other.unreferred_findings
        self.events.update(other.events)


@dataclass(frozen=True, slots=True)
class RuleFigures:
    rule_id: str
    referrals: int
    examinations: int
    seizures: int
    irregularities: int
    precision: float | None
    lift: float | None

    @property
    def findings(self) -> int:
        return self.seizures + self.irregularities


def ratio(numerator: int | float, denominator: int | float) -> float | None:
    return numerator / denominator if denominator else None


def baseline(tally: Tally) -> float | None:
    """Finding rate of examinations of versions that no rule referred."""
    return ratio(tally.unreferred_findings, tally.unreferred_examinations)


def lift(precision: float | None, base: float | None) -> float | None:
    if precision is None or base is None:
        return None
    return ratio(precision, base)


def rule_figures(tally: Tally) -> list[RuleFigures]:
    """One row per rule that referred anything, most referrals first, then by rule id."""
    base = baseline(tally)
    rows = []
    for rule_id in set(tally.referrals) | set(tally.examinations):
        examinations = tally.examinations[rule_id]
        findings = tally.seizures[rule_id] + tally.irregularities[rule_id]
        precision = ratio(findings, examinations)
        rows.append(
            RuleFigures(
                rule_id=rule_id,
                referrals=tally.referrals[rule_id],
                examinations=examinations,
                seizures=tally.seizures[rule_id],
                irregularities=tally.irregularities[rule_id],
                precision=precision,
                lift=lift(precision, base),
            )
        )
    return sorted(rows, key=lambda row: (-row.referrals, row.rule_id))
