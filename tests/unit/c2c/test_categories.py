"""Categories a partner is told of, from the tags of the rules that matched."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.c2c.agreements import CATEGORIES
from pipeline.c2c.categories import TAG_CATEGORIES, categories_of, rule_tags
from pipeline.contract.models import Match
from pipeline.rules.loader import load_ruleset

ROOT = Path(__file__).resolve().parents[3]


def matches(*rule_ids: str) -> list[Match]:
    return [Match(r, 1, "HRCM", 10.0, "reason", {}) for r in rule_ids]


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"A": ["watch-list"]}, ("SANCTIONS",)),
        ({"A": ["hs-of-concern"]}, ("SECURITY",)),
        ({"A": ["dangerous-goods"]}, ("SECURITY",)),
        ({"A": ["watch-list", "vessel"]}, ("SECURITY", "SANCTIONS")),
        ({"A": ["hs-of-concern", "ipr"]}, ("IPR",)),  # a category tag is more precise
        ({"A": ["hs-of-concern", "drugs"]}, ("DRUGS",)),
        ({"A": ["something-new"]}, ("SECURITY",)),  # unknown: SECURITY
        ({"A": []}, ("SECURITY",)),
        ({}, ("SECURITY",)),  # a rule we do not know
        ({"A": ["totals"]}, ("SECURITY",)),  # data quality alone says nothing: SECURITY
    ],
)
def test_categories_from_tags(tags: dict[str, list[str]], expected: tuple[str, ...]) -> None:
    assert categories_of(matches("A"), tags) == expected


def test_data_quality_tags_add_nothing_beside_a_finding() -> None:
    tags = {"WL": ["watch-list"], "TOT": ["totals"], "DESC": ["vague-description"]}
    assert categories_of(matches("WL", "TOT", "DESC"), tags) == ("SANCTIONS",)


def test_every_mapped_category_is_a_known_one() -> None:
    assert {c for c in TAG_CATEGORIES.values() if c is not None} <= set(CATEGORIES)


def test_every_tag_of_the_shipped_rules_is_mapped() -> None:
    tags = rule_tags(load_ruleset(ROOT / "rules").rules)
    assert tags["WL-DNL"] == ("watch-list",)
    used = {tag for rule_tags_ in tags.values() for tag in rule_tags_}
    assert used <= set(TAG_CATEGORIES), "map the new tag in pipeline/c2c/categories.py"
