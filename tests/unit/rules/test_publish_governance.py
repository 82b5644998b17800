"""What a publication changes against the published rule set, and whether it may (no broker)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import orjson
import pytest

from pipeline.rules.governance import (
    BacktestMismatch,
    BacktestReportInvalid,
    compare,
    describe,
    expectations,
    overdue_reviews,
    published_state,
    rule_diff,
    version_problems,
)
from pipeline.rules.loader import load_ruleset
from pipeline.rules.model import RuleSet
from pipeline.rules.publish import MANIFEST_KEY, ruleset_records
from pipeline.rules.source import PublishedRules, RuleSetHolder

RULE = """\
id: {id}
version: {version}
title: Arms
owner: tests
# a comment that is not part of the published document
reason: "arms: {{hs_code}}"
review_by: {review_by}
mode: active
action: HRCM
score: {score}
when:
  any_goods:
    hs_code: {{prefix_in_list: arms}}
cases:
  match:
    - goods: [{{hs_code: "930690"}}]
"""


def _ruleset(
    folder: Path,
    *rules: tuple[str, int, int],
    arms: str = "93\n",
    review_by: str = "2099-01-01",
) -> RuleSet:
    (folder / "lists").mkdir(parents=True, exist_ok=True)
    (folder / "lists" / "arms.txt").write_text(arms)
    for rule_id, version, score in rules:
        (folder / f"{rule_id}.yaml").write_text(
            RULE.format(id=rule_id, version=version, score=score, review_by=review_by)
        )
    return load_ruleset(folder)


def _on_topic(ruleset: RuleSet, **record: object) -> dict[bytes, bytes]:
    """What the topic holds once ``ruleset`` is published on an empty topic."""
    return {
        key.encode(): value
        for key, value in ruleset_records(ruleset, [], **record)
        if value is not None
    }


def test_an_unchanged_set_has_no_changes_and_no_problems(tmp_path: Path) -> None:
    ruleset = _ruleset(tmp_path, ("A", 1, 60))
    published = published_state(_on_topic(ruleset))
    assert published.ruleset_version == ruleset.version
    assert not compare(published, ruleset).any
    assert version_problems(published, ruleset) == []
    assert describe(published, compare(published, ruleset))[-1].endswith(": no changes")


def test_formatting_and_comments_are_not_changes(tmp_path: Path) -> None:
    ruleset = _ruleset(tmp_path / "one", ("A", 1, 60))
    published = published_state(_on_topic(ruleset))
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "lists").mkdir()
    (folder / "lists" / "arms.txt").write_text("# arms\n93\n")
    text = RULE.format(id="A", version=1, score=60, review_by="2099-01-01")
    reordered = "score: 60\n" + text.replace("score: 60\n", "").replace("# a comment", "# other")
    (folder / "A.yaml").write_text(reordered)
    again = load_ruleset(folder)
    assert not compare(published, again).any
    assert version_problems(published, again) == []


def test_a_changed_rule_with_the_same_version_is_refused_with_file_id_and_fix(
    tmp_path: Path,
) -> None:
    published = published_state(_on_topic(_ruleset(tmp_path / "one", ("A", 3, 60), ("B", 1, 1))))
    changed = _ruleset(tmp_path / "two", ("A", 3, 70), ("B", 1, 1))
    problems = version_problems(published, changed)
    assert problems == [
        f"{tmp_path / 'two' / 'A.yaml'}: rule A: changed without a new version: "
        "raise `version` to 4"
    ]


def test_a_lower_version_is_refused(tmp_path: Path) -> None:
    published = published_state(_on_topic(_ruleset(tmp_path / "one", ("A", 3, 60))))
    lower = _ruleset(tmp_path / "two", ("A", 2, 60))
    (problem,) = version_problems(published, lower)
    assert "rule A: version 2 is lower than the published version 3" in problem
    assert "raise `version` to 4" in problem
    assert version_problems(published, lower, rollback=True) == []
    changed_too = _ruleset(tmp_path / "three", ("A", 3, 61))
    assert len(version_problems(published, changed_too, rollback=True)) == 1


def test_a_raised_version_is_a_change_with_a_diff(tmp_path: Path) -> None:
    published = published_state(_on_topic(_ruleset(tmp_path / "one", ("A", 1, 60))))
    raised = _ruleset(tmp_path / "two", ("A", 2, 70))
    assert version_problems(published, raised) == []
    changes = compare(published, raised)
    (change,) = changes.changed
    assert (change.old_version, change.rule.version) == (1, 2)
    diff = rule_diff(change)
    assert diff[0] == "--- published A v1"
    assert diff[1] == f"+++ {tmp_path / 'two' / 'A.yaml'} A v2"
    assert "-score: 60" in diff
    assert "+score: 70" in diff
    assert "-version: 1" in diff
    assert "+version: 2" in diff
    assert "owner: tests" not in "\n".join(diff), "only a little context around each change"
    assert changes.summary()["changed"] == {"A": [1, 2]}
    lines = describe(published, changes)
    assert "    A version 1 -> 2" in lines
    assert "      +score: 70" in lines


def test_added_retired_and_list_changes_are_listed(tmp_path: Path) -> None:
    before = _ruleset(tmp_path / "one", ("A", 1, 60), ("B", 2, 1))
    published = published_state(_on_topic(before, published_by="ana", reason="first"))
    after = _ruleset(tmp_path / "two", ("A", 1, 60), ("C", 1, 1), arms="93\n8710\n")
    changes = compare(published, after)
    assert [r.id for r in changes.added] == ["C"]
    assert [d["id"] for d in changes.retired] == ["B"]
    assert changes.changed == ()
    assert [(c.name, c.added, c.removed) for c in changes.lists_changed] == [("arms", 1, 0)]
    assert changes.summary() == {
        "added": ["C"],
        "retired": ["B"],
        "changed": {},
        "lists": ["arms"],
    }
    lines = describe(published, changes)
    assert lines[0].startswith(f"against rule set {before.version} on the topic, published by ana")
    assert lines[0].endswith("(first):")
    assert "    C v1 active HRCM" in lines
    assert "    B v2" in lines
    assert "  list changed: arms (+1 -0 entries)" in lines


def test_a_retired_rule_may_come_back_and_nothing_published_is_all_added(tmp_path: Path) -> None:
    ruleset = _ruleset(tmp_path, ("A", 1, 60))
    empty = published_state({})
    changes = compare(empty, ruleset)
    assert [r.id for r in changes.added] == ["A"]
    assert changes.lists_added == ("arms",)
    assert version_problems(empty, ruleset) == []
    assert describe(empty, changes)[0] == "nothing is published yet:"


def test_a_long_diff_is_cut(tmp_path: Path) -> None:
    published = published_state(_on_topic(_ruleset(tmp_path / "one", ("A", 1, 60))))
    raised = _ruleset(tmp_path / "two", ("A", 2, 70))
    (change,) = compare(published, raised).changed
    cut = rule_diff(change, max_lines=3)
    assert len(cut) == 4
    assert cut[-1].endswith("more diff lines")


def test_the_manifest_records_who_and_why_and_workers_still_take_it_up(tmp_path: Path) -> None:
    ruleset = _ruleset(tmp_path, ("A", 1, 60))
    records = ruleset_records(
        ruleset,
        [],
        published_by="ana",
        reason="trial target 2027-009",
        previous_ruleset_version=None,
        changes={"added": ["A"]},
    )
    key, value = records[-1]
    assert key == MANIFEST_KEY
    assert value is not None
    manifest = orjson.loads(value)
    assert manifest["published_by"] == "ana"
    assert manifest["reason"] == "trial target 2027-009"
    assert manifest["ruleset_version"] == ruleset.version
    assert manifest["rules"] == {"A": 1}
    holder = RuleSetHolder()
    published = PublishedRules(holder.replace)
    for k, v in records:
        published.apply(k.encode(), v)
    assert holder.current.version == ruleset.version


def test_overdue_reviews_are_one_line_per_rule(tmp_path: Path) -> None:
    ruleset = _ruleset(tmp_path, ("A", 1, 60), ("B", 1, 1), review_by="2027-01-31")
    assert overdue_reviews(ruleset, date(2027, 1, 31)) == []
    lines = overdue_reviews(ruleset, date(2027, 2, 10))
    assert lines == [
        f"{tmp_path / 'A.yaml'}: rule A: review was due by 2027-01-31 (10 days ago)",
        f"{tmp_path / 'B.yaml'}: rule B: review was due by 2027-01-31 (10 days ago)",
    ]


def _report(ruleset: RuleSet, screened: int, matches: dict[str, int]) -> dict[str, object]:
    """The part of a `rules backtest --json-out` report that estimates are taken from."""
    return {
        "file": "recorded.jsonl",
        "rules": {
            "ruleset_version": ruleset.version,
            "screened": screened,
            "per_rule": [
                {"rule_id": r.id, "version": r.version, "mode": r.mode, "matches": matches[r.id]}
                for r in ruleset.rules
            ]
            + [{"rule_id": "RANDOM-SELECTION", "version": None, "matches": 3}],
        },
    }


def test_expectations_are_matches_per_screened_declaration(tmp_path: Path) -> None:
    ruleset = _ruleset(tmp_path, ("A", 1, 60), ("B", 2, 1))
    found = expectations(_report(ruleset, 3000, {"A": 30, "B": 0}), ruleset, "bt.json")
    assert found.ratios == {"A": 0.01, "B": 0.0}
    assert found.warnings() == []
    assert found.record() == {
        "expected_match_ratio": {"A": 0.01, "B": 0.0},
        "expected_from": {"backtest": "bt.json", "declarations": 3000},
    }
    small = expectations(_report(ruleset, 7, {"A": 1, "B": 0}), ruleset, "bt.json")
    assert small.ratios["A"] == 0.142857
    assert small.warnings() == [
        "the backtest screened 7 declarations (fewer than 1000): its estimates are rough"
    ]


def test_a_backtest_of_another_rule_set_is_refused(tmp_path: Path) -> None:
    tested = _ruleset(tmp_path / "tested", ("A", 1, 60))
    published = _ruleset(tmp_path / "published", ("A", 2, 60))
    with pytest.raises(BacktestMismatch, match=f"screened with rule set {tested.version}, not"):
        expectations(_report(tested, 100, {"A": 1}), published, "bt.json")


@pytest.mark.parametrize(
    "report",
    [[], {"rules": {}}, {"rules": {"per_rule": [], "screened": "10"}}, {"rules": None}],
)
def test_a_file_that_is_no_backtest_report_is_refused(tmp_path: Path, report: object) -> None:
    ruleset = _ruleset(tmp_path, ("A", 1, 60))
    with pytest.raises(BacktestReportInvalid, match="not a report of"):
        expectations(report, ruleset, "bt.json")


def test_a_backtest_of_nothing_gives_no_estimate(tmp_path: Path) -> None:
    ruleset = _ruleset(tmp_path, ("A", 1, 60))
    with pytest.raises(BacktestReportInvalid, match="screened no declaration"):
        expectations(_report(ruleset, 0, {"A": 0}), ruleset, "bt.json")
