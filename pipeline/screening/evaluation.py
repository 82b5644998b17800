"""What evaluating a declaration produces, and the interface every evaluator implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pipeline.contract.models import Declaration, Match, PartyStatus
from pipeline.screening.enrich import Enriched

__all__ = ["Evaluation"]


@dataclass(frozen=True, slots=True)
class Evaluation:
    matches: list[Match] = field(default_factory=list)
    shadow_matches: list[Match] = field(default_factory=list)
    parties: list[PartyStatus] = field(default_factory=list)
    # Points taken off the score, e.g. for a verified security AEO among the parties.
    score_reduction: float = 0.0
    # The matched rules whose concern is data quality (see ``outcome.decide``).
    data_quality: frozenset[str] = frozenset()


class Evaluator(Protocol):
    """The middle stages of screening: enriches a batch of declarations with reference data,
    then evaluates the enriched batch; one of each per declaration, in order."""

    @property
    def ruleset_version(self) -> str: ...

    def enrich(self, declarations: Sequence[Declaration]) -> Sequence[Enriched]: ...

    def evaluate(self, batch: Sequence[Enriched]) -> list[Evaluation]: ...
