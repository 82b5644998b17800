"""The one-line summary of a hit: outcome, score, and the reasons that weigh most."""

from __future__ import annotations

from pipeline.contract.models import Match
from pipeline.screening.summary import summarise


def match(action: str, score: float, reason: str) -> Match:
    return Match("R-" + reason, 1, action, score, reason, {})  # type: ignore[arg-type]


def test_outcome_and_score_alone_without_matches() -> None:
    assert summarise("HRCM", 60.0, []) == "HRCM (score 60)"


def test_score_is_written_compactly() -> None:
    assert summarise("RFI", 37.5, [match("SCORE", 37.5, "a")]) == "RFI (score 37.5): a"


def test_most_severe_then_highest_scoring_reasons_first() -> None:
    matches = [
        match("SCORE", 25.0, "score 25"),
        match("RFI", 0.0, "rfi"),
        match("SCORE", 30.0, "score 30"),
        match("DNL", 0.0, "dnl"),
    ]
    line = summarise("DNL", 55.0, matches)
    assert line == "DNL (score 55): dnl; rfi; score 30; and 1 more"


def test_at_most_three_reasons() -> None:
    matches = [match("SCORE", float(i), f"reason {i}") for i in range(7)]
    line = summarise("HRCM", 21.0, matches)
    assert line == "HRCM (score 21): reason 6; reason 5; reason 4; and 4 more"


def test_exactly_three_reasons_have_no_tail() -> None:
    matches = [match("SCORE", float(i), f"r{i}") for i in range(3)]
    assert not summarise("RFI", 3.0, matches).endswith("more")


def test_summary_is_one_bounded_line() -> None:
    line = summarise("HRCM", 60.0, [match("HRCM", 60.0, "x" * 1000)])
    assert len(line) == 240
    assert line.endswith("…")
    assert line.startswith("HRCM (score 60): xxx")
    assert "\n" not in line


def test_summary_just_under_the_bound_is_not_cut() -> None:
    prefix = "RFI (score 30): "
    reason = "y" * (240 - len(prefix))
    line = summarise("RFI", 30.0, [match("RFI", 30.0, reason)])
    assert line == prefix + reason


def test_order_of_equal_matches_is_stable() -> None:
    matches = [match("RFI", 5.0, "first"), match("RFI", 5.0, "second")]
    assert summarise("RFI", 10.0, matches) == "RFI (score 10): first; second"
