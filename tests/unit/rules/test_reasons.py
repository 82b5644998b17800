"""Reasons read as plain words: every field a reason names is filled in, with its value where
the evidence has one and with "not given" where the filing leaves it out."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.rules import reasons
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.rules.reasons import NOT_GIVEN, reason_fields, render_reason, stray_braces
from tests.unit.rules.test_default_rules import RULES_DIR, decode
from tests.unit.rules.test_loader import VALID, change, line_of, only, refused

HS_MISSING = "Goods item {seq} ('{description}') has no HS code"


def test_a_value_that_is_there_fills_its_placeholder() -> None:
    evidence = {"goods[0].seq": 1, "goods[0].description": "garden chairs"}
    assert render_reason(HS_MISSING, evidence) == "Goods item 1 ('garden chairs') has no HS code"


def test_a_value_the_filing_leaves_out_reads_as_not_given() -> None:
    reason = render_reason(HS_MISSING, {"goods[0].seq": 3})
    assert reason == f"Goods item 3 ('{NOT_GIVEN}') has no HS code"


def test_nothing_in_the_evidence_still_leaves_no_placeholder() -> None:
    assert render_reason(HS_MISSING, {}) == f"Goods item {NOT_GIVEN} ('{NOT_GIVEN}') has no HS code"


def test_each_matching_item_gives_its_value_or_says_it_has_none() -> None:
    evidence = {
        "goods[0].seq": 1,
        "goods[0].description": "vases",
        "goods[2].seq": 3,
    }
    assert render_reason(HS_MISSING, evidence) == (
        f"Goods item 1, 3 ('vases, {NOT_GIVEN}') has no HS code"
    )


def test_an_item_field_is_not_taken_from_the_declaration_totals() -> None:
    evidence = {"totals.packages": 50, "goods[1].packages": 10, "goods[1].seq": 2}
    assert render_reason("{packages} packages", evidence) == "10 packages"
    assert render_reason("{totals.packages} in total", evidence) == "50 in total"


def test_a_party_name_is_not_the_vessel_name() -> None:
    evidence = {"transport.vessel.name": "EVER LOYAL", "consignee.name": "ACME LTD"}
    assert render_reason("The consignee {name}", evidence) == "The consignee ACME LTD"
    assert render_reason("Vessel {transport.vessel.name}", evidence) == "Vessel EVER LOYAL"


def test_a_party_field_is_found_under_the_address() -> None:
    evidence = {"consignee.name": "ACME LTD", "consignee.address.country": "IR"}
    assert render_reason("{name} in {country}", evidence) == "ACME LTD in IR"
    assert render_reason("{name} in {city}", evidence) == f"ACME LTD in {NOT_GIVEN}"


def test_values_read_as_words() -> None:
    evidence = {
        "transport.routing_countries": ["CN", "AE", "DE"],
        "totals.gross_mass_kg": 1280.0,
        "equipment[0].check_digit_valid": False,
    }
    assert render_reason("{transport.routing_countries}", evidence) == "CN > AE > DE"
    assert render_reason("{totals.gross_mass_kg} kg", evidence) == "1280 kg"
    assert render_reason("valid: {check_digit_valid}", evidence) == "valid: no"


def test_stray_braces_are_found() -> None:
    assert not stray_braces(HS_MISSING)
    assert stray_braces("Goods item { seq }")
    assert stray_braces("Goods item {seq")
    assert stray_braces("Goods item seq}")


def test_no_default_rule_shows_a_placeholder_when_nothing_is_known() -> None:
    for rule in load_ruleset(RULES_DIR).rules:
        reason = render_reason(rule.reason, {})
        assert not set("{}") & set(reason), rule.id
        assert reason.count(NOT_GIVEN) == len(reason_fields(rule.reason)), rule.id


def test_the_evaluator_says_not_given_for_an_item_without_a_description() -> None:
    document = {
        "declaration_id": "REASONS-1",
        "version": 1,
        "message_type": "FILING",
        "submitted_at": "2026-11-23T08:00:00Z",
        "declarant": {"name": "Acme Forwarding"},
        "consignor": {"name": "Acme Exports"},
        "consignee": {"name": "Acme Imports"},
        "goods": [{"seq": 1, "packages": 4}],
    }
    ruleset = load_ruleset(RULES_DIR)
    [evaluation] = RuleEvaluator(CompiledRuleSet(ruleset)).evaluate_declarations([decode(document)])
    [hs_missing] = [m for m in evaluation.matches if m.rule_id == "HS-MISSING"]
    assert hs_missing.reason.startswith(f"Goods item 1 ('{NOT_GIVEN}') has no HS code")
    for match in evaluation.matches:
        assert not set("{}") & set(match.reason), match


@pytest.mark.parametrize("reason", ["Arms { hs_code }", "Arms {hs_code", "Arms (HS hs_code})"])
def test_a_reason_with_a_stray_brace_is_refused(tmp_path: Path, reason: str) -> None:
    text = change('"Arms or ammunition declared (HS {hs_code})"', f'"{reason}"', VALID)
    problems = refused(tmp_path, {"arms.yaml": text})
    problem = only(problems, "not a `{field}` placeholder")
    assert problem.source == str(tmp_path / "arms.yaml")
    assert problem.line == line_of(text, "reason:")


def test_reasons_stay_right_when_item_paths_are_remembered() -> None:
    # Item paths are remembered: the second rendering of the same evidence reads them back.
    for count in (1, 4, 9, 4):
        evidence = {f"goods[{i}].seq": i + 1 for i in range(count)}
        evidence["consignee.address.city"] = "HAMBURG"
        expected = ", ".join(str(i + 1) for i in range(count))
        for _ in range(2):
            reason = render_reason("Items {seq} for {city}", evidence)
            assert reason == f"Items {expected} for HAMBURG"
    assert reasons._item_prefix.cache_info().hits > 0
