"""Precision, baseline and lift, and their zero denominators."""

from __future__ import annotations

from collections import Counter

import pytest

from pipeline.feedback.stats import Tally, baseline, lift, ratio, rule_figures


def tally(
    referrals: dict[str, int] | None = None,
    examinations: dict[str, int] | None = None,
    seizures: dict[str, int] | None = None,
    irregularities: dict[str, int] | None = None,
    unreferred_examinations: int = 0,
    unreferred_findings: int = 0,
) -> Tally:
    return Tally(
        referrals=Counter(referrals or {}),
        examinations=Counter(examinations or {}),
        seizures=Counter(seizures or {}),
        irregularities=Counter(irregularities or {}),
        unreferred_examinations=unreferred_examinations,
        unreferred_findings=unreferred_findings,
    )


def test_precision_and_lift_against_unreferred_examinations() -> None:
    figures = rule_figures(
        tally(
            referrals={"A": 10, "B": 4},
            examinations={"A": 8, "B": 4},
            seizures={"A": 2},
            irregularities={"A": 2, "B": 1},
            unreferred_examinations=20,
            unreferred_findings=2,
        )
    )
    arms, other = figures
    assert (arms.rule_id, arms.referrals, arms.examinations) == ("A", 10, 8)
    assert (arms.seizures, arms.irregularities, arms.precision) == (2, 2, 0.5)
    assert arms.lift == pytest.approx(5.0)
    assert (other.rule_id, other.referrals, other.examinations) == ("B", 4, 4)
    assert (other.seizures, other.irregularities, other.precision) == (0, 1, 0.25)
    assert other.lift == pytest.approx(2.5)
    assert figures[0].findings == 4


def test_a_rule_without_examinations_has_no_precision_and_no_lift() -> None:
    (row,) = rule_figures(
        tally(referrals={"A": 3}, unreferred_examinations=5, unreferred_findings=1)
    )
    assert (row.examinations, row.precision, row.lift) == (0, None, None)


def test_without_unreferred_examinations_there_is_no_baseline_and_no_lift() -> None:
    t = tally(referrals={"A": 2}, examinations={"A": 2}, seizures={"A": 1})
    assert baseline(t) is None
    (row,) = rule_figures(t)
    assert (row.precision, row.lift) == (0.5, None)


def test_a_baseline_of_zero_gives_no_lift_rather_than_infinity() -> None:
    t = tally(
        referrals={"A": 2},
        examinations={"A": 2},
        seizures={"A": 1},
        unreferred_examinations=7,
        unreferred_findings=0,
    )
    assert baseline(t) == 0.0
    (row,) = rule_figures(t)
    assert row.lift is None


def test_a_precision_of_zero_gives_a_lift_of_zero() -> None:
    assert lift(0.0, 0.25) == 0.0
    assert lift(None, 0.25) is None
    assert ratio(1, 0) is None


def test_rows_by_most_referrals_then_rule_id() -> None:
    rows = rule_figures(tally(referrals={"B": 1, "A": 1, "C": 5}))
    assert [r.rule_id for r in rows] == ["C", "A", "B"]
    assert rule_figures(Tally()) == []


def test_tallies_add_up() -> None:
    total = tally(referrals={"A": 1}, unreferred_examinations=1)
    total.events["assessment_joined"] = 1
    other = tally(referrals={"A": 2, "B": 1}, unreferred_findings=1)
    other.events["assessment_joined"] = 2
    total.add(other)
    assert total.referrals == {"A": 3, "B": 1}
    assert (total.unreferred_examinations, total.unreferred_findings) == (1, 1)
    assert total.events == {"assessment_joined": 3}
