"""The one-line summary a targeting officer reads first."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.contract.models import Match
from pipeline.screening.outcome import SEVERITY

_MAX_REASONS = 3
_MAX_LENGTH = 240


def summarise(outcome: str, score: float, matches: Sequence[Match]) -> str:
    """Outcome and score, then the reasons of the most severe, highest-scoring matches."""
    ranked = sorted(matches, key=lambda m: (SEVERITY[m.action], m.score), reverse=True)
    reasons = "; ".join(m.reason for m in ranked[:_MAX_REASONS])
    more = len(ranked) - _MAX_REASONS
    if more > 0:
        reasons += f"; and {more} more"
    line = f"{outcome} (score {score:g}): {reasons}" if reasons else f"{outcome} (score {score:g})"
    return line if len(line) <= _MAX_LENGTH else line[: _MAX_LENGTH - 1] + "…"
