"""The rule set as the pipeline's evaluator: enriched declarations in (``screening.enrich``),
frames built from them, an Evaluation per declaration out."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.contract.models import Declaration, Match
from pipeline.rules.compiler import CompiledRuleSet, RuleMatch
from pipeline.rules.fields import PARTNER_FINDING_FACTS, Scope
from pipeline.rules.reasons import render_reason
from pipeline.screening.enrich import Enriched, Enricher, PartyLookup
from pipeline.screening.evaluation import Evaluation

__all__ = ["RANDOM_RULE_ID", "EvaluationSettings", "RuleEvaluator"]

RANDOM_RULE_ID = "RANDOM-SELECTION"


@dataclass(frozen=True, slots=True)
class EvaluationSettings:
    aeo_score_reduction: float = 20.0
    random_selection_share: float = 0.0


class RuleEvaluator:
    """The rule set's two stages of screening: enrichment by ``parties`` (reference data, as
    far as it goes), and evaluation of the enriched batch."""

    def __init__(
        self,
        compiled: CompiledRuleSet,
        parties: PartyLookup | None = None,
        settings: EvaluationSettings | None = None,
    ) -> None:
        self.compiled = compiled
        self.enricher = Enricher(parties)
        self.settings = settings or EvaluationSettings()
        # Nearly every filing has a document number or a container: the partners' findings
        # are looked up only when a rule reads them.
        self._reads_partner_findings = not compiled.fields.get(
            Scope.DECLARATION, frozenset()
        ).isdisjoint(PARTNER_FINDING_FACTS)

    @property
    def ruleset_version(self) -> str:
        return self.compiled.version

    def enrich(self, declarations: Sequence[Declaration]) -> list[Enriched]:
        return self.enricher.enrich(declarations, partner_findings=self._reads_partner_findings)

    def evaluate(self, batch: Sequence[Enriched]) -> list[Evaluation]:
        per_row = self.compiled.evaluate(self.compiled.frames_of(batch))
        evaluations = []
        for enriched, matches in zip(batch, per_row, strict=True):
            declaration = enriched.declaration
            active = [_match(m) for m in matches if not m.rule.shadow]
            shadow = [_match(m) for m in matches if m.rule.shadow]
            if self._randomly_selected(declaration):
                active.append(_random_match(declaration, self.settings.random_selection_share))
            evaluations.append(
                Evaluation(
                    matches=active,
                    shadow_matches=shadow,
                    parties=enriched.statuses,
                    score_reduction=self.settings.aeo_score_reduction
                    if enriched.aeo_relief
                    else 0.0,
                    data_quality=frozenset(
                        m.rule.id for m in matches if m.rule.data_quality and not m.rule.shadow
                    ),
                )
            )
        return evaluations

    def evaluate_declarations(self, declarations: Sequence[Declaration]) -> list[Evaluation]:
        """Both stages, for callers that hold declarations (rule test cases, tools)."""
        return self.evaluate(self.enrich(declarations))

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
