"""Risk findings for partner administrations, made in the batch of the assessment.

A stand-in evaluator gives each outcome from the HS code; the sharing agreements are the repo's
(``agreements/``) or written per test.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from pipeline import topics
from pipeline.c2c.agreements import AgreementsInvalid
from pipeline.c2c.outbound import message_id
from pipeline.c2c.sending import Sharing, load_sharing
from pipeline.contract.models import Declaration, Match
from pipeline.contract.schemas import load_schema
from pipeline.records import InputRecord, OutputRecord
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.screening.batch import BatchResult, Screener
from pipeline.screening.enrich import Enriched, Enricher
from pipeline.screening.evaluation import Evaluation
from pipeline.screening.ledger import DictLedger
from tests.factories import bare_filing

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
# The outcome each HS code gets from the stand-in evaluator.
ACTIONS = {"930690": "DNL", "360200": "HRCM", "847130": "RFI"}
CN_ROUTE = {
    "mode": "SEA",
    "loading_location": "CNSHA",
    "discharge_location": "NLRTM",
    "routing_countries": ["CN", "NL"],
}
# Everything of the filing that must never reach a partner.
NEVER = ("T-1", "score", "Shanghai Trading", "Rotterdam Imports", "rule", "matches")


class ByHsCode:
    ruleset_version = "test-1"

    def enrich(self, declarations: Sequence[Declaration]) -> list[Enriched]:
        return Enricher().enrich(declarations)

    def evaluate(self, batch: Sequence[Enriched]) -> list[Evaluation]:
        return [self._one(enriched.declaration) for enriched in batch]

    def _one(self, declaration: Declaration) -> Evaluation:
        action = ACTIONS.get((declaration.goods or [])[0].hs_code)
        if action is None:
            return Evaluation()
        score = 0.0 if action == "RFI" else 100.0  # points that stay below a referral
        return Evaluation(matches=[Match("T-1", 1, action, score, "test reason", {})])  # type: ignore[arg-type]


def filing(declaration_id: str = "D1", hs_code: str = "930690", **extra: Any) -> dict[str, Any]:
    """A filing loaded in China for Rotterdam, whose party names must never reach a partner."""
    fields = {
        "ucr": f"UCR-{declaration_id}",
        "declarant": {"name": "Fast Forwarding BV", "ids": [{"scheme": "EORI", "value": "NL1"}]},
        "consignor": {"name": "Shanghai Trading Ltd"},
        "consignee": {"name": "Rotterdam Imports BV"},
        "transport": CN_ROUTE,
        "transport_document": {"type": "MBL", "number": "MBL-42"},
        "equipment": [{"container_id": "MSKU1234565", "seals": []}],
        "goods": [{"seq": 1, "hs_code": hs_code, "description": "goods", "origin_country": "CN"}],
        **extra,
    }
    return bare_filing(declaration_id, submitted_at="2026-12-05T11:00:00Z", **fields)


def record(document: dict[str, Any], offset: int = 0) -> InputRecord:
    return InputRecord(
        topics.DECLARATIONS,
        document["declaration_id"].encode(),
        json.dumps(document).encode(),
        0,
        offset,
    )


def screener(sharing: Sharing | None, evaluator: Any = None) -> Screener:
    return Screener(
        evaluator or ByHsCode(), max_message_bytes=65536, clock=lambda: NOW, sharing=sharing
    )


def repo_sharing() -> Sharing:
    return load_sharing(ROOT / "agreements", "NL")


def outbound(result: BatchResult) -> list[OutputRecord]:
    return [o for o in result.outputs if o.topic == topics.C2C_OUTBOUND]


def agreement_folder(tmp_path: Path, levels: str = "[HIGH, MEDIUM]") -> Path:
    text = (ROOT / "agreements" / "cn.yaml").read_text()
    assert "    levels: [HIGH]\n" in text
    (tmp_path / "cn.yaml").write_text(
        text.replace("    levels: [HIGH]\n", f"    levels: {levels}\n", 1)
    )
    return tmp_path


def test_a_dnl_on_a_cn_route_sends_one_finding_with_only_the_allowed_fields() -> None:
    result = screener(repo_sharing()).screen([record(filing())], DictLedger())
    (output,) = outbound(result)
    assert output.key == b"UCR-D1"
    assert output.value is not None
    document = json.loads(output.value)
    assert set(document) == {
        "message_id",
        "kind",
        "from_administration",
        "to_administration",
        "declaration_ref",
        "handling",
        "sent_at",
        "ucr",
        "transport_document_number",
        "container_ids",
        "level",
        "categories",
        "summary",
    }
    assert document["kind"] == "RISK_FINDING"
    assert (document["from_administration"], document["to_administration"]) == ("NL", "CN")
    assert document["level"] == "HIGH"
    assert document["categories"] == ["SECURITY"]
    assert document["message_id"] == message_id("D1", 1, "CN", "RISK_FINDING")
    for word in NEVER:
        assert word not in output.value.decode()
    validator = Draft202012Validator(load_schema("partner_message"), format_checker=FormatChecker())
    validator.validate(document)
    assert result.partner_messages == {("CN", "RISK_FINDING"): 1}
    # In the batch of the assessment, after it and its hit.
    topics_in_order = [o.topic for o in result.outputs]
    assert topics_in_order.index(topics.C2C_OUTBOUND) > topics_in_order.index(topics.HITS)


def test_a_replay_sends_the_same_message_id() -> None:
    first = outbound(screener(repo_sharing()).screen([record(filing())], DictLedger()))
    again = outbound(screener(repo_sharing()).screen([record(filing())], DictLedger()))
    assert [json.loads(o.value or b"")["message_id"] for o in first] == [
        json.loads(o.value or b"")["message_id"] for o in again
    ]


def test_an_rfi_sends_nothing() -> None:
    result = screener(repo_sharing()).screen([record(filing(hs_code="847130"))], DictLedger())
    assert result.outcomes == {"RFI": 1}
    assert outbound(result) == []


def test_a_complete_assessment_sends_nothing() -> None:
    result = screener(repo_sharing()).screen([record(filing(hs_code="851712"))], DictLedger())
    assert outbound(result) == []


def test_a_partner_not_concerned_gets_nothing() -> None:
    route = {**CN_ROUTE, "loading_location": "DEHAM", "routing_countries": ["DE", "NL"]}
    document = filing(transport=route)
    document["goods"][0]["origin_country"] = "DE"
    result = screener(repo_sharing()).screen([record(document)], DictLedger())
    assert result.outcomes == {"DNL": 1}
    assert outbound(result) == []


def test_our_own_country_is_never_a_partner(tmp_path: Path) -> None:
    result = screener(load_sharing(agreement_folder(tmp_path), "CN")).screen(
        [record(filing())], DictLedger()
    )
    assert outbound(result) == []


def test_an_hrcm_is_not_sent_when_the_agreement_allows_only_high(tmp_path: Path) -> None:
    only_high = load_sharing(agreement_folder(tmp_path, "[HIGH]"), "NL")
    result = screener(only_high).screen([record(filing(hs_code="360200"))], DictLedger())
    assert result.outcomes == {"HRCM": 1}
    assert outbound(result) == []


def test_an_hrcm_is_sent_at_medium_when_the_agreement_allows_it(tmp_path: Path) -> None:
    medium = load_sharing(agreement_folder(tmp_path), "NL")
    result = screener(medium).screen([record(filing(hs_code="360200"))], DictLedger())
    (output,) = outbound(result)
    assert json.loads(output.value or b"")["level"] == "MEDIUM"


def test_a_superseded_version_sends_nothing(ledger: DictLedger) -> None:
    newer = {**filing(hs_code="851712"), "version": 2, "message_type": "AMENDMENT"}
    screener(repo_sharing()).screen([record(newer)], ledger)
    result = screener(repo_sharing()).screen([record(filing(), offset=1)], ledger)
    assert result.superseded == 1
    assert outbound(result) == []


def test_an_invalidation_sends_nothing(ledger: DictLedger) -> None:
    screener(repo_sharing()).screen([record(filing())], ledger)
    invalidation = {
        "declaration_id": "D1",
        "version": 2,
        "message_type": "INVALIDATION",
        "submitted_at": "2026-12-05T11:30:00Z",
    }
    result = screener(repo_sharing()).screen([record(invalidation, offset=1)], ledger)
    assert outbound(result) == []


def test_without_sharing_nothing_is_sent() -> None:
    assert outbound(screener(None).screen([record(filing())], DictLedger())) == []


def test_categories_come_from_the_tags_of_the_rule_set_in_use() -> None:
    sharing = repo_sharing()
    compiled = CompiledRuleSet(load_ruleset(ROOT / "rules"))
    evaluator = RuleEvaluator(compiled)
    tags = sharing.tags_of(evaluator)
    assert tags
    assert all(isinstance(t, tuple) for t in tags.values())
    assert sharing.tags_of(evaluator) is tags  # worked out once per rule set version
    assert sharing.tags_of(RuleEvaluator(CompiledRuleSet(load_ruleset(ROOT / "rules")))) is tags
    assert sharing.tags_of(ByHsCode()) == {}


def test_a_missing_or_empty_agreements_folder_shares_nothing(tmp_path: Path) -> None:
    assert len(load_sharing(tmp_path / "absent", "NL").agreements) == 0
    assert len(load_sharing(tmp_path, "NL").agreements) == 0


def test_a_broken_agreements_folder_lists_every_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("partner: cn\n")
    (tmp_path / "b.yaml").write_text("- not a mapping\n")
    with pytest.raises(AgreementsInvalid) as refused:
        load_sharing(tmp_path, "NL")
    sources = {p.source for p in refused.value.problems}
    assert sources == {str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")}
