"""What the worker needs to send risk findings to partner administrations.

The sharing agreements, loaded once at start (a broken folder stops the worker: nothing may leave
under an agreement nobody can read), our own country, and the tags of the rules in use, which
say a finding's categories. The messages themselves are built by ``pipeline.c2c.outbound``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from pipeline.c2c.agreements import Agreements, load_agreements
from pipeline.c2c.categories import rule_tags
from pipeline.rules.compiler import CompiledRuleSet

__all__ = ["Sharing", "load_sharing"]

log = logging.getLogger(__name__)

NO_AGREEMENTS = Agreements(())


@runtime_checkable
class CompiledEvaluator(Protocol):
    """An evaluator that runs a compiled rule set (the rule engine; test stand-ins need not)."""

    compiled: CompiledRuleSet


@dataclass(slots=True)
class Sharing:
    """The agreements and our country, with each rule set's tags worked out once."""

    agreements: Agreements
    home: str  # ISO 3166-1 alpha-2: from_administration, never a partner concerned
    _tags: tuple[str, Mapping[str, tuple[str, ...]]] | None = field(default=None, repr=False)

    def tags_of(self, evaluator: object) -> Mapping[str, tuple[str, ...]]:
        """The tags of the rules ``evaluator`` runs; cached per rule set version, since a
        published set replaces the one in use between batches. Without compiled rules, none:
        a finding then counts as SECURITY."""
        if not self.agreements or not isinstance(evaluator, CompiledEvaluator):
            return {}
        version = evaluator.compiled.version
        if self._tags is None or self._tags[0] != version:
            self._tags = (version, rule_tags(evaluator.compiled.ruleset.rules))
        return self._tags[1]


def load_sharing(directory: Path, home: str) -> Sharing:
    """The agreements of ``directory``; raises ``AgreementsInvalid`` listing every problem.
    A missing or empty folder is valid: nothing is shared."""
    if not directory.exists():
        log.info("no sharing agreements folder %s: nothing is sent to partners", directory)
        return Sharing(NO_AGREEMENTS, home)
    agreements = load_agreements(directory)
    if agreements:
        names = ", ".join(f"{a.partner} ({a.alias})" for a in agreements)
        log.info("sharing agreements from %s as %s: %s", directory, home, names)
    else:
        log.info("no sharing agreements in %s: nothing is sent to partners", directory)
    return Sharing(agreements, home)
