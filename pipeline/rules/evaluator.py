"""The rule set as the pipeline's evaluator: frames in, an Evaluation per declaration out."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pipeline.contract.models import Declaration, Match, Party, PartyRole, PartyStatus
from pipeline.rules.compiler import CompiledRuleSet, RuleMatch
from pipeline.rules.frames import build_frames
from pipeline.rules.reasons import render_reason
from pipeline.screening.evaluation import Evaluation

RANDOM_RULE_ID = "RANDOM-SELECTION"
# Parties whose verified security AEO status lowers a consignment's score.
AEO_RELIEF_ROLES = ("consignor", "consignee")


class PartyLookup(Protocol):
    """Reference data for one party: facts for the rules, and the status for the Assessment."""

    def lookup(
        self, declaration: Declaration, role: PartyRole, party: Party
    ) -> tuple[Mapping[str, Any], PartyStatus]: ...


@runtime_checkable
class VesselLookup(Protocol):
    """Reference data for the declaration's vessel (contract v1.1): watch-list facts by IMO."""

    def vessel(self, declaration: Declaration) -> Mapping[str, Any]: ...


@runtime_checkable
class ConsolidationLookup(Protocol):
    """The other house filings of a house filing's master (contract v1.1)."""

    def consolidation(self, declaration: Declaration) -> Mapping[str, Any]: ...


@runtime_checkable
class PartnerFindingLookup(Protocol):
    """Partner administrations' risk findings on the declaration's consignment (v1.1)."""

    def partner_finding(self, declaration: Declaration) -> Mapping[str, Any]: ...


class NoReferenceData:
    def lookup(
        self, declaration: Declaration, role: PartyRole, party: Party
    ) -> tuple[Mapping[str, Any], PartyStatus]:
        claimed = next((i.value for i in party.ids if i.scheme == "AEO"), None)
        status = "UNVERIFIED" if claimed else "NONE"
        return (
            {"aeo_status": status, "aeo_security": False},
            PartyStatus(role, claimed, None, status, None),
        )


class _NoVessels:
    def vessel(self, declaration: Declaration) -> Mapping[str, Any]:
        return {}


class _NoConsolidations:
    def consolidation(self, declaration: Declaration) -> Mapping[str, Any]:
        return {}


class _NoPartnerFindings:
    def partner_finding(self, declaration: Declaration) -> Mapping[str, Any]:
        return {}


NO_VESSELS = _NoVessels()
NO_PARTNER_FINDINGS = _NoPartnerFindings()
NO_CONSOLIDATIONS = _NoConsolidations()


@dataclass(frozen=True, slots=True)
class EvaluationSettings:
    aeo_score_reduction: float = 20.0
    random_selection_share: float = 0.0


class RuleEvaluator:
    def __init__(
        self,
        compiled: CompiledRuleSet,
        parties: PartyLookup | None = None,
        settings: EvaluationSettings | None = None,
    ) -> None:
        self.compiled = compiled
        self.parties = parties or NoReferenceData()
        self.settings = settings or EvaluationSettings()

    @property
    def ruleset_version(self) -> str:
        return self.compiled.version

    def evaluate(self, declarations: Sequence[Declaration]) -> list[Evaluation]:
        statuses: dict[int, list[PartyStatus]] = {}
        relief: set[int] = set()
        by_identity = {id(d): row for row, d in enumerate(declarations)}

        def facts(declaration: Declaration, role: PartyRole, party: Party) -> Mapping[str, Any]:
            found, status = self.parties.lookup(declaration, role, party)
            row = by_identity[id(declaration)]
            statuses.setdefault(row, []).append(status)
            if role in AEO_RELIEF_ROLES and found.get("aeo_security"):
                relief.add(row)
            return found

        vessels = self.parties if isinstance(self.parties, VesselLookup) else NO_VESSELS
        houses = (
            self.parties if isinstance(self.parties, ConsolidationLookup) else NO_CONSOLIDATIONS
        )
        partners = (
            self.parties if isinstance(self.parties, PartnerFindingLookup) else NO_PARTNER_FINDINGS
        )
        frames = build_frames(
            declarations,
            facts,
            self.compiled.fields,
            vessels.vessel,
            houses.consolidation,
            partners.partner_finding,
        )
        per_row = self.compiled.evaluate(frames)
        evaluations = []
        for row, (declaration, matches) in enumerate(zip(declarations, per_row, strict=True)):
            active = [_match(m) for m in matches if not m.rule.shadow]
            shadow = [_match(m) for m in matches if m.rule.shadow]
            if self._randomly_selected(declaration):
                active.append(_random_match(declaration, self.settings.random_selection_share))
            evaluations.append(
                Evaluation(
                    matches=active,
                    shadow_matches=shadow,
                    parties=statuses.get(row, []),
                    score_reduction=self.settings.aeo_score_reduction if row in relief else 0.0,
                    data_quality=frozenset(
                        m.rule.id for m in matches if m.rule.data_quality and not m.rule.shadow
                    ),
                )
            )
        return evaluations

    def _randomly_selected(self, declaration: Declaration) -> bool:
        share = self.settings.random_selection_share
        return share > 0 and random_draw(declaration.declaration_id) < share


def random_draw(declaration_id: str) -> float:
    """A number in [0, 1) fixed by the declaration id, so that reruns select the same ones."""
    digest = hashlib.blake2b(declaration_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _match(m: RuleMatch) -> Match:
    rule = m.rule
    return Match(
        rule_id=rule.id,
        rule_version=rule.version,
        action=rule.action,
        score=rule.score,
        reason=render_reason(rule.reason, m.evidence),
        evidence=m.evidence,
    )


def _random_match(declaration: Declaration, share: float) -> Match:
    return Match(
        rule_id=RANDOM_RULE_ID,
        rule_version=1,
        action="RFI",
        score=0.0,
        reason=f"random selection ({share:.2%} of declarations)",
        evidence={"declaration_id": declaration.declaration_id},
    )
