"""The compiled rule set's evaluation, whichever way Polars runs it."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.contract.models import Declaration
from pipeline.rules import compiler
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.fields import Scope
from pipeline.rules.frames import Frames
from pipeline.rules.model import RuleSet
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.screening.decode import decode_declaration
from pipeline.screening.enrich import Enricher
from tests.unit.rules.test_compiler_properties import a_rule


def _generated(count: int) -> list[Declaration]:
    generator = DeclarationGenerator(GeneratorConfig(seed=7, risky_share=0.5))
    decoded = [decode_declaration(m.value, 1_048_576) for m in generator.messages(count)]
    return [d for d in decoded if isinstance(d, Declaration) and d.message_type != "INVALIDATION"]


@pytest.fixture(scope="module")
def frames(default_rules: CompiledRuleSet) -> Frames:
    return default_rules.frames_of(Enricher(None).enrich(_generated(300)))


def _matches(rules: CompiledRuleSet, frames: Frames) -> list[list[tuple[str, dict[str, Any]]]]:
    return [[(m.rule.id, m.evidence) for m in row] for row in rules.evaluate(frames)]


def test_the_batch_matches_many_rules_with_evidence(
    default_rules: CompiledRuleSet, frames: Frames
) -> None:
    """What the tests below compare is not empty."""
    found = _matches(default_rules, frames)
    assert sum(len(row) for row in found) > 100
    assert len({rule for row in found for rule, _ in row}) > 10
    assert sum(1 for row in found for _, evidence in row if evidence) > 100


@pytest.mark.parametrize(
    ("setting", "low", "high"),
    [
        # Polars' expressions one after another, or on its thread pool.
        ("PARALLEL_SELECT_MIN_ROWS", 0, 10**9),
        # The evidence's rows gathered by Polars, or picked in Python.
        ("PICK_IN_PYTHON_MAX_VALUES", 0, 10**9),
    ],
)
def test_either_way_of_evaluating_gives_the_same_matches_and_evidence(
    default_rules: CompiledRuleSet,
    frames: Frames,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    low: int,
    high: int,
) -> None:
    monkeypatch.setattr(compiler, setting, low)
    one_way = _matches(default_rules, frames)
    monkeypatch.setattr(compiler, setting, high)
    assert _matches(default_rules, frames) == one_way


def test_a_test_several_rules_make_is_one_column_evaluated_once() -> None:
    by_sea = {"transport.mode": {"in": ["SEA"]}}
    amendment = {"message_type": "AMENDMENT"}
    rules = CompiledRuleSet(
        RuleSet(
            (
                a_rule("R1", by_sea),
                a_rule("R2", {"all": [by_sea, {"not": by_sea}]}),
                a_rule("R3", {"any": [amendment, {"not": by_sea}]}),
            ),
            {},
            {},
            "rs-shared",
        )
    )
    declarations = _generated(300)
    frames = rules.frames_of(Enricher(None).enrich(declarations))
    assert rules.tests(frames.declarations, Scope.DECLARATION).shape == (len(declarations), 2)
    matched = [{m.rule.id for m in row} for row in rules.evaluate(frames)]
    expected = []
    for declaration in declarations:
        sea = declaration.transport is not None and declaration.transport.mode == "SEA"
        amended = declaration.message_type == "AMENDMENT"
        expected.append(({"R1"} if sea else set()) | ({"R3"} if amended or not sea else set()))
    assert matched == expected
    # Every way the three can come out is among them.
    assert {"R1"} in matched
    assert {"R3"} in matched
    assert {"R1", "R3"} in matched
