"""Run every rule's cases: fragments of declarations that must, or must not, match it.

A case says only what matters to its rule; the rest comes from a plain, clean sea filing.
Reference facts (AEO status, watch-list findings) are given per party role under ``facts``, and
under ``vessel``, ``master`` and ``partner`` for the declaration's vessel, the other houses of
its master and partner administrations' findings on it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import msgspec
import orjson

from pipeline.contract.models import Declaration, Party, PartyRole, PartyStatus
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import json_ready
from pipeline.rules.model import Rule, RuleSet
from pipeline.screening.enrich import NoReferenceData, PartyFacts

__all__ = ["BASE_DECLARATION", "CaseFacts", "case_declaration", "merge", "run_cases"]

BASE_DECLARATION: dict[str, Any] = {
    "declaration_id": "CASE-1",
    "version": 1,
    "message_type": "FILING",
    "submitted_at": "2026-11-20T08:00:00Z",
    "declarant": {"name": "NORDIC FORWARDING AS", "ids": [{"scheme": "EORI", "value": "NO1"}]},
    "consignor": {
        "name": "NINGBO HOMEWARE MANUFACTURING",
        "address": {"street": "88 Zhongshan Road", "city": "Ningbo", "country": "CN"},
    },
    "consignee": {
        "name": "MOEBEL MUELLER",
        "address": {
            "street": "Hafenstrasse 5",
            "city": "Hamburg",
            "postcode": "20457",
            "country": "DE",
            "po_box": False,
        },
    },
    "transport": {
        "mode": "SEA",
        "conveyance_ref": "MSC ANNA 448W",
        "loading_location": "CNNGB",
        "discharge_location": "DEHAM",
        "routing_countries": ["CN", "DE"],
        "estimated_loading_at": "2026-11-23T08:00:00Z",
        "estimated_arrival_at": "2026-12-24T08:00:00Z",
    },
    "transport_document": {"type": "MBL", "number": "MEDU1234567"},
    "equipment": [{"container_id": "MSCU6639870", "seals": ["ML-123456"]}],
    "goods": [
        {
            "seq": 1,
            "hs_code": "940360",
            "description": "wooden bedroom furniture",
            "packages": 40,
            "package_type": "PK",
            "gross_mass_kg": 1200.0,
            "origin_country": "CN",
            "un_number": None,
            "container_ids": ["MSCU6639870"],
            "value": {"amount": 18000.0, "currency": "USD"},
        }
    ],
    "totals": {"packages": 40, "gross_mass_kg": 1200.0},
}


@dataclass(frozen=True, slots=True)
class CaseFailure:
    rule: Rule
    kind: str  # match or no_match
    index: int
    reason: str

    def __str__(self) -> str:
        return f"{self.rule.source}: {self.rule.id} cases.{self.kind}[{self.index}]: {self.reason}"


def merge(base: Any, fragment: Any) -> Any:
    """Mappings merge key by key, lists item by item; anything else replaces."""
    if isinstance(base, Mapping) and isinstance(fragment, Mapping):
        merged = dict(base)
        for key, value in fragment.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(fragment, list):
        return [merge(base[i], item) if i < len(base) else item for i, item in enumerate(fragment)]
    return copy.deepcopy(fragment)


class CaseFacts:
    """Reference facts as a case states them, by party role, for the vessel (``vessel``), for
    the other house filings of the filing's master (``master``) and for partner
    administrations' findings on the consignment (``partner``)."""

    def __init__(self, facts: Mapping[str, Mapping[str, Any]]) -> None:
        self._facts = facts
        self._default = NoReferenceData()

    def lookup(
        self, declaration: Declaration, role: PartyRole, party: Party
    ) -> tuple[PartyFacts, PartyStatus]:
        found, status = self._default.lookup(declaration, role, party)
        given = self._facts.get(role, {})
        facts = PartyFacts.stated({**asdict(found), **given})
        status = PartyStatus(
            role,
            status.operator_id,
            facts.aeo_type,
            str(facts.aeo_status),
            "REGISTRY" if given.get("aeo_status") else None,
        )
        return facts, status

    def vessel(self, declaration: Declaration) -> Mapping[str, Any]:
        return self._facts.get("vessel", {})

    def consolidation(self, declaration: Declaration) -> Mapping[str, Any]:
        return self._facts.get("master", {})

    def partner_finding(self, declaration: Declaration) -> Mapping[str, Any]:
        return self._facts.get("partner", {})


def case_declaration(case: Mapping[str, Any]) -> tuple[Declaration, Mapping[str, Any]]:
    fragment = {k: v for k, v in case.items() if k != "facts"}
    document = merge(BASE_DECLARATION, json_ready(fragment))
    declaration = msgspec.json.decode(orjson.dumps(document), type=Declaration)
    return declaration, case.get("facts") or {}


def run_cases(ruleset: RuleSet) -> list[CaseFailure]:
    failures: list[CaseFailure] = []
    for rule in ruleset.rules:
        single = RuleSet((rule,), ruleset.lists, ruleset.list_entries, ruleset.version)
        compiled = CompiledRuleSet(single)
        for kind in ("match", "no_match"):
            for index, case in enumerate(rule.cases.get(kind) or []):
                try:
                    declaration, facts = case_declaration(case)
                except (msgspec.ValidationError, TypeError, ValueError) as exc:
                    failures.append(
                        CaseFailure(rule, kind, index, f"not a valid declaration: {exc}")
                    )
                    continue
                evaluator = RuleEvaluator(compiled, CaseFacts(facts))
                evaluation = evaluator.evaluate_declarations([declaration])[0]
                fired = any(
                    m.rule_id == rule.id for m in evaluation.matches + evaluation.shadow_matches
                )
                if fired != (kind == "match"):
                    expected = "match" if kind == "match" else "not match"
                    failures.append(
                        CaseFailure(rule, kind, index, f"expected the rule to {expected}")
                    )
    return failures
