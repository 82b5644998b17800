"""From matches to an outcome: direct actions, score thresholds (30 and 60), score reduction."""

from __future__ import annotations

import pytest

from pipeline.contract.models import Match
from pipeline.screening.outcome import PRIORITY, REFERRALS, SEVERITY, Thresholds, decide

DEFAULT = Thresholds()


def match(action: str = "SCORE", score: float = 0.0, rule_id: str = "R") -> Match:
    return Match(rule_id, 1, action, score, f"{rule_id} matched", {})  # type: ignore[arg-type]


def test_default_thresholds_are_30_and_60() -> None:
    assert (DEFAULT.rfi, DEFAULT.hrcm) == (30.0, 60.0)


def test_no_match_is_assessment_complete() -> None:
    assert decide([], 0.0, DEFAULT) == ("ASSESSMENT_COMPLETE", 0.0)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([29.99], "ASSESSMENT_COMPLETE"),
        ([30.0], "RFI"),
        ([10.0, 20.0], "RFI"),
        ([59.5], "RFI"),
        ([60.0], "HRCM"),
        ([20.0, 20.0, 20.0], "HRCM"),
        ([500.0], "HRCM"),  # a score alone never gives DNL
    ],
)
def test_score_thresholds(scores: list[float], expected: str) -> None:
    outcome, score = decide([match(score=s) for s in scores], 0.0, DEFAULT)
    assert outcome == expected
    assert score == pytest.approx(sum(scores))


@pytest.mark.parametrize("action", ["RFI", "HRCM", "DNL"])
def test_direct_action_wins_over_a_low_score(action: str) -> None:
    assert decide([match(action, 0.0)], 0.0, DEFAULT) == (action, 0.0)


def test_most_severe_direct_action_wins() -> None:
    matches = [match("RFI"), match("DNL"), match("HRCM"), match("SCORE", 5.0)]
    assert decide(matches, 0.0, DEFAULT)[0] == "DNL"


def test_score_outcome_wins_over_a_milder_direct_action() -> None:
    assert decide([match("RFI", 10.0), match("SCORE", 55.0)], 0.0, DEFAULT) == ("HRCM", 65.0)


def test_direct_action_wins_over_a_milder_score_outcome() -> None:
    assert decide([match("HRCM", 0.0), match("SCORE", 35.0)], 0.0, DEFAULT)[0] == "HRCM"


def test_score_reduction_lowers_the_threshold_outcome() -> None:
    matches = [match("SCORE", 40.0), match("SCORE", 25.0)]
    assert decide(matches, 0.0, DEFAULT) == ("HRCM", 65.0)
    assert decide(matches, 10.0, DEFAULT) == ("RFI", 55.0)
    assert decide(matches, 40.0, DEFAULT) == ("ASSESSMENT_COMPLETE", 25.0)


def test_score_never_goes_below_zero() -> None:
    assert decide([match("SCORE", 10.0)], 50.0, DEFAULT) == ("ASSESSMENT_COMPLETE", 0.0)


@pytest.mark.parametrize("action", ["RFI", "HRCM", "DNL"])
@pytest.mark.parametrize("reduction", [0.0, 20.0, 60.0, 1e9])
def test_score_reduction_never_removes_a_direct_action(action: str, reduction: float) -> None:
    outcome, score = decide([match(action, 20.0), match("SCORE", 40.0)], reduction, DEFAULT)
    assert SEVERITY[outcome] >= SEVERITY[action]
    assert score == max(0.0, 60.0 - reduction)
    if reduction >= 40.0:  # the score alone would no longer refer it
        assert outcome == action


@pytest.mark.parametrize(
    "matches",
    [
        [match("SCORE", 1e6)],
        [match("HRCM", 100.0), match("HRCM", 100.0)],
        [match("RFI", 90.0), match("SCORE", 90.0)],
    ],
)
def test_dnl_only_from_a_dnl_rule(matches: list[Match]) -> None:
    assert decide(matches, 0.0, DEFAULT)[0] != "DNL"
    assert decide([*matches, match("DNL")], 0.0, DEFAULT)[0] == "DNL"


def test_custom_thresholds() -> None:
    thresholds = Thresholds(rfi=10.0, hrcm=20.0)
    assert decide([match("SCORE", 10.0)], 0.0, thresholds)[0] == "RFI"
    assert decide([match("SCORE", 20.0)], 0.0, thresholds)[0] == "HRCM"


def test_severity_order_and_priorities() -> None:
    assert SEVERITY["ASSESSMENT_COMPLETE"] < SEVERITY["RFI"] < SEVERITY["HRCM"] < SEVERITY["DNL"]
    assert SEVERITY["SCORE"] == SEVERITY["ASSESSMENT_COMPLETE"]
    assert frozenset({"RFI", "HRCM", "DNL"}) == REFERRALS
    assert PRIORITY == {"DNL": 1, "HRCM": 2, "RFI": 3}


def test_matches_may_be_any_iterable() -> None:
    assert decide(iter([match("SCORE", 30.0)]), 0.0, DEFAULT) == ("RFI", 30.0)


# --- data quality apart from security risk --------------------------------------------------


def test_data_quality_alone_never_reaches_hrcm_whatever_its_score() -> None:
    gaps = [match("RFI", 30, "HS-MISSING"), match("RFI", 30, "DESC-MISSING")]
    gaps += [match("SCORE", 15, "TIME-NO-LOADING-TIME")]
    outcome, score = decide(
        gaps, 0.0, DEFAULT, {"HS-MISSING", "DESC-MISSING", "TIME-NO-LOADING-TIME"}
    )
    assert (outcome, score) == ("RFI", 75.0)


def test_the_same_points_from_security_rules_reach_hrcm() -> None:
    matches = [match("RFI", 30, "A"), match("RFI", 30, "B")]
    assert decide(matches, 0.0, DEFAULT, {"OTHER"})[0] == "HRCM"


def test_a_security_indicator_plus_missing_data_still_reaches_hrcm() -> None:
    matches = [match("SCORE", 20, "ROUTE-HIGH-RISK"), match("RFI", 40, "HS-MISSING")]
    assert decide(matches, 0.0, DEFAULT, {"HS-MISSING"})[0] == "HRCM"


def test_a_security_rule_that_adds_no_points_is_no_indicator() -> None:
    # A random selection (RFI, 0 points) does not turn missing data into a screening referral.
    matches = [match("RFI", 0, "RANDOM"), match("RFI", 30, "A"), match("RFI", 30, "B")]
    assert decide(matches, 0.0, DEFAULT, {"A", "B"})[0] == "RFI"


@pytest.mark.parametrize("action", ["HRCM", "DNL"])
def test_the_cap_never_lowers_a_direct_security_action(action: str) -> None:
    matches = [match(action, 60, "WL"), match("RFI", 30, "HS-MISSING")]
    assert decide(matches, 0.0, DEFAULT, {"HS-MISSING"})[0] == action
