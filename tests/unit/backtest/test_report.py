"""Per-rule figures of a backtest and the comparison of two rule sets: pure functions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from pipeline.backtest.report import compare, differing_rules, run_report
from pipeline.backtest.screen import Verdict
from pipeline.rules.conditions import AllOf
from pipeline.rules.model import Rule, RuleSet


def rule(rule_id: str, mode: str = "active", action: str = "SCORE", **document: object) -> Rule:
    return Rule(
        id=rule_id,
        version=1,
        title=rule_id,
        owner="tests",
        reason="r",
        review_by=date(2027, 1, 1),
        mode=mode,
        action=action,
        score=10,
        when=AllOf(()),  # never evaluated here
        document={"id": rule_id, **document},
    )


def ruleset(*rules: Rule, version: str = "rs-1") -> RuleSet:
    return RuleSet(rules=rules, lists={}, list_entries={}, version=version)


def verdict(
    sequence: int,
    outcome: str,
    rules: tuple[str, ...] = (),
    shadow: tuple[str, ...] = (),
    declaration_id: str | None = None,
    version: int = 1,
) -> Verdict:
    return Verdict(
        sequence,
        declaration_id or f"D{sequence}",
        version,
        outcome,
        0.0,
        frozenset(rules),
        frozenset(shadow),
    )


def test_each_rule_gets_matches_share_and_the_outcomes_it_matched() -> None:
    rules = ruleset(rule("A"), rule("B", action="HRCM"), rule("S", mode="shadow"), rule("Z"))
    verdicts = [
        verdict(1, "ASSESSMENT_COMPLETE", ("A",)),
        verdict(2, "HRCM", ("A", "B"), shadow=("S",)),
        verdict(3, "RFI", ("RANDOM-SELECTION",)),
        verdict(4, "ASSESSMENT_COMPLETE"),
        verdict(5, "INVALIDATED"),
    ]
    report = run_report(rules, verdicts)
    assert report.screened == 4
    assert report.invalidated == 1
    assert report.outcomes == {"ASSESSMENT_COMPLETE": 2, "RFI": 1, "HRCM": 1, "DNL": 0}
    by_id = {s.rule_id: s for s in report.rules}
    assert [s.rule_id for s in report.rules] == ["A", "B", "S", "Z", "RANDOM-SELECTION"]
    assert by_id["A"].matches == 2
    assert by_id["A"].share == pytest.approx(0.5)
    assert by_id["A"].outcomes == {"ASSESSMENT_COMPLETE": 1, "RFI": 0, "HRCM": 1, "DNL": 0}
    assert by_id["S"].matches == 1  # shadow matches are counted for their rule
    assert by_id["S"].mode == "shadow"
    assert by_id["Z"].matches == 0
    assert by_id["RANDOM-SELECTION"].version is None


def test_an_empty_file_reports_zero_shares() -> None:
    report = run_report(ruleset(rule("A")), [])
    assert report.screened == 0
    assert report.rules[0].share == 0.0


def test_comparison_lists_changed_outcomes_with_the_rules_that_differ() -> None:
    old_rules = ruleset(rule("A"), rule("B", score=10), rule("GONE"), version="rs-old")
    new_rules = ruleset(rule("A"), rule("B", score=40), rule("NEW"), version="rs-new")
    old_verdicts = [
        verdict(1, "ASSESSMENT_COMPLETE", ("A",)),
        verdict(2, "RFI", ("B",)),
        verdict(3, "RFI", ("GONE",)),
        verdict(4, "ASSESSMENT_COMPLETE", ("A",)),
    ]
    new_verdicts = [
        verdict(1, "ASSESSMENT_COMPLETE", ("A",)),
        verdict(2, "HRCM", ("B",)),
        verdict(3, "ASSESSMENT_COMPLETE"),
        verdict(4, "DNL", ("A", "NEW")),
    ]
    old = run_report(old_rules, old_verdicts)
    new = run_report(new_rules, new_verdicts)
    differing = differing_rules(old_rules, new_rules)
    assert differing == {"B", "GONE", "NEW"}

    comparison = compare(old, old_verdicts, new, new_verdicts, differing)

    assert [(c.declaration_id, c.old_outcome, c.new_outcome) for c in comparison.changes] == [
        ("D4", "ASSESSMENT_COMPLETE", "DNL"),  # most severe new outcome first
        ("D2", "RFI", "HRCM"),
        ("D3", "RFI", "ASSESSMENT_COMPLETE"),
    ]
    d4, d2, d3 = comparison.changes
    assert (d4.added_rules, d4.removed_rules, d4.changed_rules) == (("NEW",), (), ())
    assert (d2.added_rules, d2.removed_rules, d2.changed_rules) == ((), (), ("B",))
    assert (d3.added_rules, d3.removed_rules) == ((), ("GONE",))
    assert comparison.moves == {
        "ASSESSMENT_COMPLETE -> DNL": 1,
        "RFI -> HRCM": 1,
        "RFI -> ASSESSMENT_COMPLETE": 1,
    }
    assert comparison.matches_changed == 2
    deltas = {d.rule_id: d for d in comparison.rule_deltas}
    assert [d.rule_id for d in comparison.rule_deltas] == ["A", "B", "NEW", "GONE"]
    assert (deltas["A"].old_matches, deltas["A"].new_matches, deltas["A"].delta) == (2, 2, 0)
    assert not deltas["A"].changed
    assert deltas["B"].changed
    assert (deltas["NEW"].old_version, deltas["NEW"].new_matches, deltas["NEW"].delta) == (
        None,
        1,
        1,
    )
    assert (deltas["GONE"].new_version, deltas["GONE"].delta) == (None, -1)


def test_the_same_rule_set_changes_nothing() -> None:
    rules = ruleset(rule("A"))
    verdicts = [verdict(1, "RFI", ("A",)), verdict(2, "ASSESSMENT_COMPLETE")]
    report = run_report(rules, verdicts)
    comparison = compare(report, verdicts, report, verdicts, differing_rules(rules, rules))
    assert comparison.changes == []
    assert comparison.matches_changed == 0
    assert all(d.delta == 0 and not d.changed for d in comparison.rule_deltas)


def test_runs_over_different_declarations_are_refused() -> None:
    rules = ruleset(rule("A"))
    one = [verdict(1, "RFI")]
    other = [replace(one[0], version=2)]
    report = run_report(rules, one)
    with pytest.raises(ValueError, match="different declarations"):
        compare(report, one, report, other)
    with pytest.raises(ValueError, match="different declarations"):
        compare(report, one, report, [])
