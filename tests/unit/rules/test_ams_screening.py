"""The default rule set on real manifests: the five AMS bills of the fixtures, screened offline
through the worker's own screener, as ``screening rules backtest`` screens a file.

All five are ordinary commercial shipments (the cargo descriptions, shippers and consignees of
``tests/fixtures/ams``):

- 202001060, 202001061: antennas from Chinese telecom manufacturers to an antenna maker in
  California (Quintel USA);
- 202001062: a terracotta vase bowl, Christmas ornaments and earthenware wall tiles from the
  Philippines for Williams-Sonoma (marks: Pottery Barn);
- 202001063, 202001064: furniture maker Calfurn Manufacturing Philippines to Williams-Sonoma;
  the sample holds no cargo description for them.

None of them carries a security indicator; what they lack is data (no HS code, no loading
time, and for two of them no description). Three were amended after arrival, so the date of
their last update makes them look filed late. Missing or doubtful data asks for information:
RFI, never a screening referral.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline import topics
from pipeline.records import InputRecord
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.rules.reasons import NOT_GIVEN
from pipeline.samples.ams import declarations_from_ams
from pipeline.screening.batch import Screener
from pipeline.screening.ledger import DictLedger
from tests.unit.rules.test_default_rules import RULES_DIR

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ams"
ORDINARY = {
    "AMS-202001060": "antennas",
    "AMS-202001061": "antennas",
    "AMS-202001062": "vase bowl, Christmas ornaments, earthenware wall art",
    "AMS-202001063": "furniture maker to a homeware retailer, no description",
    "AMS-202001064": "furniture maker to a homeware retailer, no description",
}


@cache
def assessments() -> dict[str, dict[str, Any]]:
    """Each bill's Assessment, as the worker would publish it."""
    screener = Screener(
        RuleEvaluator(CompiledRuleSet(load_ruleset(RULES_DIR))), max_message_bytes=1 << 20
    )
    records = [
        InputRecord(topics.DECLARATIONS, None, orjson.dumps(c.declaration), 0, offset)
        for offset, c in enumerate(declarations_from_ams(FIXTURES))
    ]
    result = screener.screen(records, DictLedger())
    published = [orjson.loads(o.value) for o in result.outputs if o.topic == topics.ASSESSMENTS]
    return {a["declaration_id"]: a for a in published}


def matches(assessment: dict[str, Any]) -> list[dict[str, Any]]:
    return [*assessment["matches"], *assessment["shadow_matches"]]


def test_every_bill_is_assessed() -> None:
    assert sorted(assessments()) == sorted(ORDINARY)


def test_no_reason_shows_a_placeholder() -> None:
    for assessment in assessments().values():
        for match in matches(assessment):
            assert not set("{}") & set(match["reason"]), match


@pytest.mark.parametrize(
    ("declaration_id", "rule_id", "reason"),
    [
        (
            "AMS-202001060",
            "HS-MISSING",
            "Goods item 1 ('ANTENNA') has no HS code: ask for the 6-digit subheading",
        ),
        (
            "AMS-202001063",
            "HS-MISSING",
            f"Goods item 1 ('{NOT_GIVEN}') has no HS code: ask for the 6-digit subheading",
        ),
        ("AMS-202001063", "DESC-MISSING", f"Goods item 1 (HS {NOT_GIVEN}) has no description"),
        ("AMS-202001064", "DESC-MISSING", f"Goods item 1 (HS {NOT_GIVEN}) has no description"),
    ],
)
def test_a_data_gap_reads_as_plain_words(declaration_id: str, rule_id: str, reason: str) -> None:
    found = {m["rule_id"]: m["reason"] for m in matches(assessments()[declaration_id])}
    assert found[rule_id] == reason


@pytest.mark.parametrize("declaration_id", sorted(ORDINARY))
def test_an_ordinary_shipment_is_not_referred_for_screening(declaration_id: str) -> None:
    assessment = assessments()[declaration_id]
    assert assessment["outcome"] not in ("HRCM", "DNL"), assessment


@pytest.mark.parametrize("declaration_id", sorted(ORDINARY))
def test_a_data_gap_asks_for_information(declaration_id: str) -> None:
    # Every one of the bills lacks an HS code, since no tariff row joins them.
    assessment = assessments()[declaration_id]
    assert "HS-MISSING" in {m["rule_id"] for m in assessment["matches"]}
    assert assessment["outcome"] == "RFI", assessment
