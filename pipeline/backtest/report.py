"""What a backtest found: per rule, per outcome, and between two rule sets. Pure functions."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.backtest.screen import RejectedLine, Verdict
from pipeline.rules.model import RuleSet
from pipeline.screening.outcome import SEVERITY

__all__ = [
    "OUTCOMES",
    "Comparison",
    "RunReport",
    "compare",
    "differing_rules",
    "rejection_kinds",
    "rejection_location",
    "run_report",
]

OUTCOMES = ("ASSESSMENT_COMPLETE", "RFI", "HRCM", "DNL")
INVALIDATED = "INVALIDATED"

# The dead-letter codes in words; SCHEMA is told apart further by field (rejection_kind).
_REJECTION_WORDS = {
    "INVALID_JSON": "not JSON",
    "NOT_AN_OBJECT": "not a JSON object",
    "ENCODING": "not UTF-8",
    "TOO_LARGE": "too large",
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class RuleStats:
    rule_id: str
    version: int | None  # None: not a rule of the set (random selection)
    mode: str
    action: str
    matches: int
    share: float  # of the screened declaration versions
    outcomes: dict[str, int]  # outcomes of the declaration versions it matched


@dataclass(frozen=True, slots=True)
class RunReport:
    ruleset_version: str
    screened: int  # filings and amendments assessed (invalidations are not screened)
    invalidated: int
    outcomes: dict[str, int]
    rules: list[RuleStats]


@dataclass(frozen=True, slots=True)
class OutcomeChange:
    declaration_id: str
    version: int
    old_outcome: str
    new_outcome: str
    added_rules: tuple[str, ...]  # matched with the new rule set only
    removed_rules: tuple[str, ...]  # matched with the old rule set only
    changed_rules: tuple[str, ...]  # matched with both, written differently in each


@dataclass(frozen=True, slots=True)
class RuleDelta:
    rule_id: str
    old_version: int | None
    new_version: int | None
    old_matches: int
    new_matches: int
    changed: bool  # written differently in the two sets, or only in one

    @property
    def delta(self) -> int:
        return self.new_matches - self.old_matches


@dataclass(frozen=True, slots=True)
class Comparison:
    old_ruleset_version: str
    new_ruleset_version: str
    changes: list[OutcomeChange]
    rule_deltas: list[RuleDelta]
    moves: dict[str, int] = field(default_factory=dict)  # "OLD -> NEW": declaration versions
    matches_changed: int = 0  # declaration versions whose matched rules differ


def run_report(ruleset: RuleSet, verdicts: Sequence[Verdict]) -> RunReport:
    screened = [v for v in verdicts if v.outcome != INVALIDATED]
    total = len(screened)
    outcomes = Counter(v.outcome for v in screened)
    per_rule: dict[str, Counter[str]] = {}
    for verdict in screened:
        for rule_id in verdict.matched:
            per_rule.setdefault(rule_id, Counter())[verdict.outcome] += 1
    stats = []
    known = {rule.id for rule in ruleset.rules}
    for rule in ruleset.rules:
        stats.append(_stats(rule.id, rule.version, rule.mode, rule.action, per_rule, total))
    for rule_id in sorted(set(per_rule) - known):
        # Not written in the rule set: the random selection the worker adds.
        stats.append(_stats(rule_id, None, "active", "RFI", per_rule, total))
    return RunReport(
        ruleset_version=ruleset.version,
        screened=total,
        invalidated=len(verdicts) - total,
        outcomes=_ordered(outcomes),
        rules=stats,
    )


def differing_rules(old: RuleSet, new: RuleSet) -> frozenset[str]:
    """Rules written differently in the two sets (any field), or present in one only."""
    before = {rule.id: rule.document for rule in old.rules}
    after = {rule.id: rule.document for rule in new.rules}
    return frozenset(
        rule_id
        for rule_id in before.keys() | after.keys()
        if before.get(rule_id) != after.get(rule_id)
    )


def compare(
    old: RunReport,
    old_verdicts: Sequence[Verdict],
    new: RunReport,
    new_verdicts: Sequence[Verdict],
    differing: frozenset[str] = frozenset(),
) -> Comparison:
    """Outcome changes per declaration version, old rule set to new, and per-rule deltas.

    Both verdict lists come from the same file screened in the same order, so they align
    one to one. ``differing`` names the rules written differently in the two sets.
    """
    if len(old_verdicts) != len(new_verdicts):
        raise ValueError("the two runs screened different declarations")
    changes = []
    moves: Counter[str] = Counter()
    matches_changed = 0
    for before, after in zip(old_verdicts, new_verdicts, strict=True):
        if (before.declaration_id, before.version) != (after.declaration_id, after.version):
            raise ValueError("the two runs screened different declarations")
        matches_changed += before.matched != after.matched
        if before.outcome == after.outcome:
            continue
        moves[f"{before.outcome} -> {after.outcome}"] += 1
        added, removed = after.matched - before.matched, before.matched - after.matched
        changed = (before.matched & after.matched) & differing
        changes.append(
            OutcomeChange(
                before.declaration_id,
                before.version,
                before.outcome,
                after.outcome,
                tuple(sorted(added)),
                tuple(sorted(removed)),
                tuple(sorted(changed)),
            )
        )
    changes.sort(key=_most_severe_first)
    return Comparison(
        old_ruleset_version=old.ruleset_version,
        new_ruleset_version=new.ruleset_version,
        changes=changes,
        rule_deltas=_rule_deltas(old, new, differing),
        moves=dict(moves.most_common()),
        matches_changed=matches_changed,
    )


def _stats(
    rule_id: str,
    version: int | None,
    mode: str,
    action: str,
    per_rule: dict[str, Counter[str]],
    total: int,
) -> RuleStats:
    outcomes = per_rule.get(rule_id, Counter())
    matches = sum(outcomes.values())
    share = matches / total if total else 0.0
    return RuleStats(rule_id, version, mode, action, matches, share, _ordered(outcomes))


def _ordered(outcomes: Counter[str]) -> dict[str, int]:
    """Every outcome, in order of severity, so that reports have the same columns."""
    return {outcome: outcomes.get(outcome, 0) for outcome in OUTCOMES}


def _rule_deltas(old: RunReport, new: RunReport, differing: frozenset[str]) -> list[RuleDelta]:
    before = {s.rule_id: s for s in old.rules}
    after = {s.rule_id: s for s in new.rules}
    order = [s.rule_id for s in new.rules] + [r for r in before if r not in after]
    deltas = []
    for rule_id in order:
        was, now = before.get(rule_id), after.get(rule_id)
        deltas.append(
            RuleDelta(
                rule_id,
                was.version if was else None,
                now.version if now else None,
                was.matches if was else 0,
                now.matches if now else 0,
                rule_id in differing or was is None or now is None,
            )
        )
    return deltas


def _most_severe_first(change: OutcomeChange) -> tuple[int, int, str, int]:
    return (
        -SEVERITY.get(change.new_outcome, 0),
        -SEVERITY.get(change.old_outcome, 0),
        change.declaration_id,
        change.version,
    )


def rejection_location(path: str | None) -> str | None:
    """Where in the document a rejection points, e.g. ``parties[1].name``; None for the whole
    document or the message as a whole."""
    if not path or path == "$":
        return None
    return path.removeprefix("$.").removeprefix("$")


def rejection_kind(line: RejectedLine) -> str:
    """What is wrong with a rejected line, in a few words: ``missing field``, ``invalid
    hs_code``, ``not JSON``..."""
    if line.code != "SCHEMA":
        return _REJECTION_WORDS.get(line.code, line.code)
    if "missing required field" in line.message:
        return "missing field"
    names = _NAME.findall(rejection_location(line.path) or "")
    return f"invalid {names[-1]}" if names else "not a declaration"


def rejection_kinds(rejected: Sequence[RejectedLine]) -> list[tuple[str, int]]:
    """Each kind of rejection and its count, the most frequent first."""
    return Counter(rejection_kind(line) for line in rejected).most_common()
