"""The data-quality cap lowers no security referral: checked on generated filings whose planted
indicators are known, screened with the default rules."""

from __future__ import annotations

from functools import cache

import msgspec

from pipeline.contract.models import Declaration
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.samples import generator as gen
from pipeline.screening.outcome import SEVERITY, Thresholds, decide
from tests.unit.rules.test_default_rules import RULES_DIR

# Indicators that are faults of the data rather than signs of risk (domain.md): on their own
# they ask the filer for information.
DATA_FAULTS = frozenset(
    {
        gen.VAGUE_DESCRIPTION,
        gen.BAD_CONTAINER_CHECK_DIGIT,
        gen.TOTALS_MISMATCH,
        gen.LATE_FILING,
        gen.STOPWORD_PARTY_NAME,
    }
)
# The default rules that judge the data, written out here so that marking one more rule as
# data quality (and so capping it) is a change this test makes someone look at.
DATA_QUALITY_RULES = frozenset(
    [
        "TOT-GROSS-MASS-MISSING",
        "TOT-MASS-DISCREPANCY",
        "TOT-PACKAGES-DISCREPANCY",
        "TOT-MASS-PER-PACKAGE",
        "DESC-MISSING",
        "DESC-NO-LETTERS",
        "DESC-STOP-PHRASE",
        "HS-MISSING",
        "HS-CHAPTER-ONLY",
        "PARTY-STOP-ADDRESS",
        "PARTY-STOP-NAME",
        "CNT-CHECK-DIGIT",
        "VESSEL-IMO-CHECK-DIGIT",
        "TIME-NO-LOADING-TIME",
        "TIME-SEA-NO-LOADING-TIME",
        "TIME-LOADING-AFTER-ARRIVAL",
        "TIME-SEA-LATE",
        "TIME-AIR-AFTER-LOADING",
    ]
)
# Indicators the default rules refer for screening on their own.
SCREENING_RISKS = frozenset({gen.ARMS_HS, gen.EXPLOSIVES_HS, gen.UNDECLARED_LITHIUM_BATTERY})
COUNT = 4_000


@cache
def screened() -> list[tuple[gen.GeneratedMessage, str, str, bool]]:
    """(message, outcome with the cap, outcome without it, whether a security rule added
    points) for each generated filing."""
    messages = [
        m
        for m in gen.DeclarationGenerator(gen.GeneratorConfig(seed=11, risky_share=0.6)).messages(
            COUNT
        )
        if m.kind == "FILING"
    ]
    decoder = msgspec.json.Decoder(Declaration)
    declarations = [decoder.decode(m.value) for m in messages]
    evaluator = RuleEvaluator(CompiledRuleSet(load_ruleset(RULES_DIR)))
    thresholds = Thresholds()
    found = []
    for message, evaluation in zip(
        messages, evaluator.evaluate_declarations(declarations), strict=True
    ):
        args = (evaluation.matches, evaluation.score_reduction, thresholds)
        capped, _ = decide(*args, evaluation.data_quality)
        uncapped, _ = decide(*args)
        security = any(
            m.score > 0 and m.rule_id not in DATA_QUALITY_RULES for m in evaluation.matches
        )
        found.append((message, capped, uncapped, security))
    return found


def test_the_rules_marked_data_quality_are_exactly_these() -> None:
    marked = {rule.id for rule in load_ruleset(RULES_DIR).rules if rule.data_quality}
    assert marked == DATA_QUALITY_RULES


def test_the_sample_holds_every_kind_of_filing() -> None:
    labels = [set(m.labels) for m, *_ in screened()]
    assert sum(1 for s in labels if s and s <= DATA_FAULTS) > 100
    assert sum(1 for s in labels if s & SCREENING_RISKS) > 100
    assert sum(1 for s in labels if not s) > 500


def test_no_referral_that_a_security_rule_took_part_in_is_lowered() -> None:
    kept = 0
    for message, capped, uncapped, security in screened():
        if security:
            assert capped == uncapped, (message.labels, capped, uncapped)
            kept += SEVERITY[capped] >= SEVERITY["HRCM"]
    assert kept > 100


def test_planted_screening_risks_are_still_referred_for_screening() -> None:
    for message, capped, *_ in screened():
        if set(message.labels) & SCREENING_RISKS:
            assert SEVERITY[capped] >= SEVERITY["HRCM"], (message.labels, capped)


def test_data_alone_gives_a_request_for_information_and_no_more() -> None:
    lowered = 0
    for message, capped, uncapped, security in screened():
        if not security and uncapped != "ASSESSMENT_COMPLETE":
            assert capped == "RFI", (message.labels, capped)
            lowered += uncapped != capped
    assert lowered > 0  # some of them scored past the HRCM threshold and were capped


def test_planted_data_faults_are_asked_about() -> None:
    for message, capped, *_ in screened():
        labels = set(message.labels)
        if labels and labels <= DATA_FAULTS:
            assert SEVERITY[capped] >= SEVERITY["RFI"], (message.labels, capped)
