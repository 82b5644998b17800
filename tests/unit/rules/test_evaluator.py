"""The evaluator's own duties: random selection, AEO relief, validity windows, shadow mode."""

from __future__ import annotations

from pipeline.rules.cases import CaseFacts
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RANDOM_RULE_ID, EvaluationSettings, RuleEvaluator
from pipeline.screening.outcome import Thresholds, decide
from tests.factories import declaration


def test_random_selection_picks_the_configured_share_and_the_same_ones_every_time(
    default_rules: CompiledRuleSet,
) -> None:
    evaluator = RuleEvaluator(
        default_rules, settings=EvaluationSettings(random_selection_share=0.1)
    )
    batch = [declaration(declaration_id=f"R-{n}") for n in range(2000)]
    first = [
        any(m.rule_id == RANDOM_RULE_ID for m in e.matches)
        for e in evaluator.evaluate_declarations(batch)
    ]
    again = [
        any(m.rule_id == RANDOM_RULE_ID for m in e.matches)
        for e in evaluator.evaluate_declarations(batch)
    ]
    assert first == again
    assert 150 <= sum(first) <= 250
    selected = evaluator.evaluate_declarations([batch[first.index(True)]])[0]
    outcome, _ = decide(selected.matches, selected.score_reduction, Thresholds())
    assert outcome == "RFI"
    assert "random selection" in selected.matches[-1].reason


def test_no_random_selection_by_default(default_rules: CompiledRuleSet) -> None:
    batch = [declaration(declaration_id=f"R-{n}") for n in range(500)]
    assert all(not e.matches for e in RuleEvaluator(default_rules).evaluate_declarations(batch))


def test_a_security_aeo_consignor_lowers_the_score_but_not_a_direct_action(
    default_rules: CompiledRuleSet,
) -> None:
    aeos = {"aeo_status": "ACTIVE", "aeo_type": "AEOS", "aeo_security": True}
    evaluator = RuleEvaluator(default_rules, CaseFacts({"consignor": aeos}))
    arms = declaration(hs_code="930690")
    evaluation = evaluator.evaluate_declarations([arms])[0]
    assert evaluation.score_reduction == 20
    outcome, score = decide(evaluation.matches, evaluation.score_reduction, Thresholds())
    assert outcome == "HRCM"
    assert score == 40


def test_a_rule_outside_its_validity_window_does_not_fire(default_rules: CompiledRuleSet) -> None:
    target = next(r for r in default_rules.ruleset.rules if r.valid_to is not None and not r.shadow)
    case = target.cases["match"][0]
    inside = RuleEvaluator(default_rules, CaseFacts(case.get("facts") or {}))
    fragment = {k: v for k, v in case.items() if k != "facts"}
    assert target.valid_from is not None
    fragment["submitted_at"] = f"{target.valid_from.isoformat()}T00:30:00+02:00"
    fired = inside.evaluate_declarations([declaration(**fragment)])[0]
    # 00:30 at +02:00 is still the day before in UTC: outside the window.
    assert target.id not in {m.rule_id for m in fired.matches}
    fragment["submitted_at"] = f"{target.valid_from.isoformat()}T12:00:00Z"
    fired = inside.evaluate_declarations([declaration(**fragment)])[0]
    assert target.id in {m.rule_id for m in fired.matches}
