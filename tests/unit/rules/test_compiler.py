"""The compiled rule set's evaluation, whichever way Polars runs it."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.contract.models import Declaration
from pipeline.rules import compiler
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.frames import Frames
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.screening.decode import decode_declaration
from pipeline.screening.enrich import Enricher


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
