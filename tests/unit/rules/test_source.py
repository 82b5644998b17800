"""Rule sets from the rules topic: only complete, valid sets are switched to."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.loader import load_ruleset
from pipeline.rules.model import RuleSet
from pipeline.rules.publish import MANIFEST_KEY, ruleset_records
from pipeline.rules.source import PublishedRules, RuleSetHolder

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
