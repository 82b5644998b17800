"""The benchmark's large rule set: it loads, and it refers about as many declarations as real
targeting rules do, so that `pipeline_1000_rules` measures evaluation, not output volume."""

from __future__ import annotations

from pathlib import Path

from load_tests.synthetic_rules import write_rule_folder
from pipeline.records import InputRecord
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.screening.batch import Screener
from pipeline.screening.outcome import REFERRALS

ROOT = Path(__file__).resolve().parents[3]
DECLARATIONS = 2000


def _screen(rules: Path) -> tuple[float, float]:
    """Generated-rule matches per declaration, and the share of declarations referred."""
    generator = DeclarationGenerator(GeneratorConfig(seed=5, risky_share=0.05))
    records = [
        InputRecord("t", m.key, m.value, 0, i)
        for i, m in enumerate(generator.messages(DECLARATIONS))
    ]
    screener = Screener(
        RuleEvaluator(CompiledRuleSet(load_ruleset(rules))), max_message_bytes=1 << 20
    )
    prepared = screener.prepare(records)
    generated = sum(
        1
        for _, _, evaluation in prepared.assessable
        for match in (*evaluation.matches, *evaluation.shadow_matches)
        if match.rule_id.startswith("SYN-")
    )
    outcomes = screener.finish(prepared, _NoVersions()).outcomes
    referred = sum(outcomes[outcome] for outcome in REFERRALS)
    return generated / len(prepared.assessable), referred / sum(outcomes.values())


class _NoVersions:
    def get(self, declaration_id: str, partition: int) -> None:
        return None

    def put(self, declaration_id: str, partition: int, state: object) -> None:
        pass


def test_a_thousand_rules_load_and_stay_selective(tmp_path: Path) -> None:
    many = write_rule_folder(ROOT / "rules", tmp_path / "rules", 1000)
    assert len(load_ruleset(many).rules) == 1000
    matches, referred_many = _screen(many)
    _, referred_default = _screen(ROOT / "rules")
    # Measured: about 0.7 generated matches per declaration; 5 % referred by the default
    # rules, 7 % with the thousand.
    assert 0.2 < matches < 2.0
    assert referred_default < referred_many < referred_default + 0.05
