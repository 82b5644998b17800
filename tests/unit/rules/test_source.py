"""Rule sets from the rules topic: only complete, valid sets are switched to."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.loader import load_ruleset
from pipeline.rules.model import RuleSet
from pipeline.rules.publish import MANIFEST_KEY, ruleset_records
from pipeline.rules.source import PublishedRules, RuleSetHolder, expected_ratios

RULE = """\
id: {id}
version: {version}
title: Arms
owner: tests
reason: "arms: {{hs_code}}"
review_by: 2099-01-01
mode: active
action: HRCM
score: 60
when:
  any_goods:
    hs_code: {{prefix_in_list: arms}}
cases:
  match:
    - goods: [{{hs_code: "930690"}}]
"""


def _ruleset(folder: Path, *rules: tuple[str, int]) -> RuleSet:
    (folder / "lists").mkdir(parents=True, exist_ok=True)
    (folder / "lists" / "arms.txt").write_text("93\n")
    for rule_id, version in rules:
        (folder / f"{rule_id}.yaml").write_text(RULE.format(id=rule_id, version=version))
    return load_ruleset(folder)


def _feed(published: PublishedRules, records: list[tuple[str, bytes | None]]) -> None:
    for key, value in records:
        published.apply(key.encode(), value)


@pytest.fixture
def holder() -> RuleSetHolder:
    return RuleSetHolder()


def test_a_complete_set_is_switched_to(tmp_path: Path, holder: RuleSetHolder) -> None:
    ruleset = _ruleset(tmp_path, ("A", 1), ("B", 1))
    published = PublishedRules(holder.replace)
    _feed(published, ruleset_records(ruleset, []))
    assert holder.current.version == ruleset.version
    assert [r.id for r in holder.current.ruleset.rules] == ["A", "B"]


def test_a_manifest_before_its_rules_waits_for_them(tmp_path: Path, holder: RuleSetHolder) -> None:
    ruleset = _ruleset(tmp_path, ("A", 1))
    records = ruleset_records(ruleset, [])
    manifest = records[-1]
    published = PublishedRules(holder.replace)
    _feed(published, [manifest])
    assert not holder.ready
    _feed(published, records[:-1])
    assert holder.current.version == ruleset.version


def test_retired_rules_get_tombstones_and_leave_the_set(
    tmp_path: Path, holder: RuleSetHolder
) -> None:
    first = _ruleset(tmp_path / "one", ("A", 1), ("B", 1))
    second = _ruleset(tmp_path / "two", ("A", 2))
    published = PublishedRules(holder.replace)
    _feed(published, ruleset_records(first, []))
    records = ruleset_records(second, ["A", "B", "list:arms", MANIFEST_KEY])
    assert ("B", None) in records
    _feed(published, records)
    assert [(r.id, r.version) for r in holder.current.ruleset.rules] == [("A", 2)]


def test_a_broken_published_set_is_refused_and_the_running_one_stays(
    tmp_path: Path, holder: RuleSetHolder
) -> None:
    good = _ruleset(tmp_path, ("A", 1))
    published = PublishedRules(holder.replace)
    _feed(published, ruleset_records(good, []))
    broken = dict(good.rules[0].document, version=2, action="EXPLODE")
    manifest = {"ruleset_version": "rs-broken", "rules": {"A": 2}, "lists": ["arms"]}
    _feed(published, [("A", orjson.dumps(broken)), (MANIFEST_KEY, orjson.dumps(manifest))])
    assert holder.current.version == good.version
    assert published.refused == ["rs-broken"]


def test_a_set_whose_content_does_not_match_its_version_is_refused(
    tmp_path: Path, holder: RuleSetHolder
) -> None:
    good = _ruleset(tmp_path, ("A", 1))
    published = PublishedRules(holder.replace)
    records = ruleset_records(good, [])
    tampered = orjson.loads(records[-1][1] or b"{}")
    tampered["ruleset_version"] = "rs-000000000000"
    _feed(published, [*records[:-1], (MANIFEST_KEY, orjson.dumps(tampered))])
    assert not holder.ready
    assert published.refused == ["rs-000000000000"]


def test_the_version_is_a_content_digest(tmp_path: Path) -> None:
    one = _ruleset(tmp_path / "one", ("A", 1))
    same = _ruleset(tmp_path / "same", ("A", 1))
    other = _ruleset(tmp_path / "other", ("A", 2))
    assert one.version == same.version != other.version
    assert CompiledRuleSet(one).version == one.version


def _broken(good: RuleSet, version: str = "rs-broken") -> list[tuple[str, bytes | None]]:
    """Records of a set that fails the worker's checks: an action no rule may have."""
    broken = dict(good.rules[0].document, version=2, action="EXPLODE")
    manifest = {"ruleset_version": version, "rules": {"A": 2}, "lists": ["arms"]}
    return [("A", orjson.dumps(broken)), (MANIFEST_KEY, orjson.dumps(manifest))]


def test_a_refusal_is_reported_once_and_named_while_it_is_the_latest(
    tmp_path: Path, holder: RuleSetHolder
) -> None:
    good = _ruleset(tmp_path / "good", ("A", 1))
    refusals: list[str] = []
    heard: list[str | None] = []
    published = PublishedRules(holder.replace, on_refused=refusals.append)
    published.subscribe(lambda: heard.append(published.refused_latest))
    _feed(published, ruleset_records(good, []))
    assert published.latest_version == good.version
    assert published.taken_up == good.version
    assert published.refused_latest is None

    _feed(published, _broken(good))
    # The same manifest read again (a restart of the mirror, a duplicate) is not a new refusal.
    _feed(published, _broken(good)[-1:])
    assert refusals == ["rs-broken"]
    assert published.latest_version == "rs-broken"
    assert published.refused_latest == "rs-broken"
    assert published.taken_up == holder.current.version == good.version
    assert heard == [None, "rs-broken"]

    fixed = _ruleset(tmp_path / "fixed", ("A", 3))
    _feed(published, ruleset_records(fixed, ["A", "list:arms", MANIFEST_KEY]))
    assert holder.current.version == fixed.version
    assert published.refused_latest is None
    assert published.refused == ["rs-broken"]
    assert heard == [None, "rs-broken", None]


def test_a_failing_listener_does_not_stop_the_switch(tmp_path: Path, holder: RuleSetHolder) -> None:
    good = _ruleset(tmp_path, ("A", 1))
    published = PublishedRules(holder.replace)

    def fail() -> None:
        raise RuntimeError("listener down")

    published.subscribe(fail)
    _feed(published, ruleset_records(good, []))
    assert holder.current.version == good.version


def test_the_expected_match_ratios_of_the_manifest_go_with_the_set(
    tmp_path: Path, holder: RuleSetHolder
) -> None:
    ruleset = _ruleset(tmp_path, ("A", 1), ("B", 1))
    expected = {"A": 0.0125, "B": 2, "C": 0.5, "D": "x"}  # B is no ratio, C no rule of the set
    published = PublishedRules(holder.replace)
    _feed(published, ruleset_records(ruleset, [], expected_match_ratio=expected))
    assert holder.expected == {"A": 0.0125}


def test_a_set_published_without_estimates_has_none(tmp_path: Path, holder: RuleSetHolder) -> None:
    first = _ruleset(tmp_path / "one", ("A", 1))
    second = _ruleset(tmp_path / "two", ("A", 2))
    published = PublishedRules(holder.replace)
    _feed(published, ruleset_records(first, [], expected_match_ratio={"A": 0.1}))
    assert holder.expected == {"A": 0.1}
    _feed(published, ruleset_records(second, ["A", "list:arms", MANIFEST_KEY]))
    assert holder.expected == {}


def test_expected_ratios_ignore_a_manifest_without_them() -> None:
    assert expected_ratios({"rules": {"A": 1}}) == {}
    assert expected_ratios({"rules": {"A": 1}, "expected_match_ratio": [0.1]}) == {}
    assert expected_ratios({"rules": {"A": 1}, "expected_match_ratio": {"A": True}}) == {}
    assert expected_ratios({"rules": {"A": 1}, "expected_match_ratio": {"A": 0}}) == {"A": 0.0}
