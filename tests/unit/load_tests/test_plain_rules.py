"""The baselines' plain-Python rule evaluation agrees with the rule cases and the pipeline."""

from __future__ import annotations

from pathlib import Path

import msgspec
import orjson
import pytest

from load_tests.baselines.plain_rules import assessment, check_digit_valid, load_rules, screen
from pipeline.contract.models import Declaration
from pipeline.rules.cases import BASE_DECLARATION, merge
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import json_ready, load_ruleset
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig

RULES = Path(__file__).resolve().parents[3] / "rules"
PLAIN = load_rules(RULES)
DEFAULT = load_ruleset(RULES)


def _cases() -> list[tuple[str, str, int, dict[str, object]]]:
    found = []
    for rule in DEFAULT.rules:
        for kind in ("match", "no_match"):
            for index, case in enumerate(rule.cases.get(kind) or []):
                # Cases that state reference facts need a registry the baselines do not have.
                if not case.get("facts"):
                    found.append((rule.id, kind, index, dict(case)))
    return found


def test_every_default_rule_is_loaded() -> None:
    assert sorted(r.id for r in PLAIN) == sorted(r.id for r in DEFAULT.rules)


@pytest.mark.parametrize(("rule_id", "kind", "index", "case"), _cases())
def test_rule_cases(rule_id: str, kind: str, index: int, case: dict[str, object]) -> None:
    document = orjson.loads(orjson.dumps(merge(BASE_DECLARATION, json_ready(case))))
    verdict = screen(PLAIN, document)
    fired = {r.id for r in verdict.matches + verdict.shadow_matches}
    assert (rule_id in fired) == (kind == "match")


def test_same_outcomes_as_the_pipeline_on_generated_declarations() -> None:
    generator = DeclarationGenerator(GeneratorConfig(seed=5, risky_share=0.3))
    documents = [generator.declaration() for _ in range(300)]
    decoded = [msgspec.json.decode(orjson.dumps(d), type=Declaration) for d in documents]
    evaluations = RuleEvaluator(CompiledRuleSet(DEFAULT)).evaluate_declarations(decoded)
    risky = 0
    for document, evaluation in zip(documents, evaluations, strict=True):
        verdict = screen(PLAIN, document)
        expected = sorted(m.rule_id for m in evaluation.matches)
        assert sorted(r.id for r in verdict.matches) == expected, document["declaration_id"]
        risky += bool(expected)
    assert risky > 30


def test_check_digit() -> None:
    assert check_digit_valid("CSQU3054383")
    assert not check_digit_valid("CSQU3054384")
    assert not check_digit_valid("not a container")


def test_assessment_of_anything_but_a_declaration_is_a_rejection() -> None:
    assert assessment(PLAIN, [1, 2], "now")["outcome"] == "REJECTED"
    invalidated = assessment(
        PLAIN, {"declaration_id": "D", "version": 2, "message_type": "INVALIDATION"}, "now"
    )
    assert invalidated["outcome"] == "INVALIDATED"
