"""The effectiveness report: per-rule figures, the baseline and what could not be joined."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.feedback.feed import FeedResult
from pipeline.feedback.join import JoinEntry, waiting
from pipeline.feedback.stats import baseline, rule_figures

__all__ = ["build_report"]


def build_report(result: FeedResult, entries: Mapping[str, JoinEntry]) -> dict[str, Any]:
    """A JSON-ready document; ratios with a zero denominator are None."""
    tally = result.tally
    unmatched = waiting(entries.items())
    return {
        "rules": [
            {
                "rule_id": row.rule_id,
                "referrals": row.referrals,
                "examinations": row.examinations,
                "seizures": row.seizures,
                "irregularities": row.irregularities,
                "precision": row.precision,
                "lift": row.lift,
            }
            for row in rule_figures(tally)
        ],
        "baseline": {
            "examinations": tally.unreferred_examinations,
            "findings": tally.unreferred_findings,
            "finding_rate": baseline(tally),
        },
        "without_assessment": {
            "count": len(unmatched),
            "versions": [_version(key) for key in unmatched],
        },
        "assessments": tally.events["assessment_joined"],
        "examination_results": {
            "joined": tally.events["examination_joined"] + tally.events["examination_joined_late"],
            "duplicates": tally.events["examination_duplicate"],
            "conflicts": tally.events["examination_conflict"],
            "malformed": result.malformed,
        },
    }


def _version(key: str) -> dict[str, Any]:
    declaration_id, _, version = key.rpartition("/")
    return {"declaration_id": declaration_id, "version": int(version)}
