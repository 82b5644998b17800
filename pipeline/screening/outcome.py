"""From matches to an outcome: the most severe of direct actions and score thresholds."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from pipeline.contract.models import Match, Outcome, Referral

__all__ = ["PRIORITY", "REFERRALS", "SEVERITY", "Thresholds", "decide"]

SEVERITY: dict[str, int] = {"ASSESSMENT_COMPLETE": 0, "SCORE": 0, "RFI": 1, "HRCM": 2, "DNL": 3}
REFERRALS: frozenset[Referral] = frozenset({"RFI", "HRCM", "DNL"})
# A targeting officer works DNL first, then HRCM, then RFI (1 is the highest priority).
PRIORITY: dict[str, int] = {"DNL": 1, "HRCM": 2, "RFI": 3}


@dataclass(frozen=True, slots=True)
class Thresholds:
    rfi: float = 30.0
    hrcm: float = 60.0


def decide(
    matches: Iterable[Match],
    score_reduction: float,
    thresholds: Thresholds,
    data_quality: Collection[str] = (),
) -> tuple[Outcome, float]:
    """Return the outcome and the final score.

    A score reduction (a verified security AEO) lowers the score and so the threshold outcome,
    but never removes a direct action. DNL comes only from a rule whose action is DNL.

    ``data_quality`` names the matched rules that judge the data rather than the risk (missing,
    vague or inconsistent data). Their points count, but without a security indicator (a
    match of any other rule that adds points) the score can reach RFI at most: a filing whose
    only fault is its data gets a request for information, never a screening referral.
    """
    score = 0.0
    direct: Outcome = "ASSESSMENT_COMPLETE"
    security_indicator = False
    for match in matches:
        score += match.score
        # SCORE ranks with ASSESSMENT_COMPLETE: it adds points, never an outcome of its own.
        if match.action != "SCORE" and SEVERITY[match.action] > SEVERITY[direct]:
            direct = match.action
        if match.score > 0 and match.rule_id not in data_quality:
            security_indicator = True
    score = max(0.0, score - score_reduction)
    by_score: Outcome = "ASSESSMENT_COMPLETE"
    if score >= thresholds.hrcm:
        by_score = "HRCM" if security_indicator else "RFI"
    elif score >= thresholds.rfi:
        by_score = "RFI"
    outcome = direct if SEVERITY[direct] >= SEVERITY[by_score] else by_score
    return outcome, score
