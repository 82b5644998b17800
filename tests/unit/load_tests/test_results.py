"""Rates from output windows, ratios against the issue's targets, soak verdicts."""

from __future__ import annotations

import pytest

from load_tests.results import (
    TARGETS,
    OutputWindow,
    Rounds,
    Target,
    evaluate_targets,
    growth,
    lag_is_growing,
)


def test_rate_is_outputs_over_first_to_last_output() -> None:
    window = OutputWindow(count=10_000, first_ms=1_000, last_ms=3_000)
    assert window.seconds == 2.0
    assert window.per_s == 5_000.0


def test_no_rate_without_a_span() -> None:
    assert OutputWindow(0, None, None).per_s is None
    assert OutputWindow(1, 5, 5).per_s is None
    assert OutputWindow(50, 5, 5).per_s is None


def test_windows_of_several_topics_merge() -> None:
    merged = OutputWindow.merge(
        [
            OutputWindow(900, 1_000, 2_000),
            OutputWindow(100, 1_500, 2_500),
            OutputWindow(0, None, None),
        ]
    )
    assert merged == OutputWindow(1_000, 1_000, 2_500)


RESULTS = {
    "passthrough_per_s": 80_000.0,
    "naive_faust_per_s": 2_000.0,
    "quixstreams_per_s": 12_000.0,
    "pipeline_per_s": 30_000.0,
    "pipeline_1000_rules_per_s": 12_000.0,
    "metrics_off_per_s": 30_600.0,
    "p99_ms": 40.0,
}


def test_every_target_of_the_issue_is_evaluated() -> None:
    found = evaluate_targets(RESULTS)
    assert list(found) == [
        "pipeline_vs_passthrough",
        "pipeline_vs_naive_faust",
        "pipeline_vs_quixstreams",
        "p99_at_half_rate",
        "rules_1000_vs_pipeline",
        "metrics_off_vs_pipeline",
    ]
    assert set(found) == {t.name for t in TARGETS}
    assert found["pipeline_vs_passthrough"] == {
        "target": "pipeline_per_s >= 0.33 x passthrough_per_s",
        "value": 0.375,
        "met": True,
    }
    assert found["pipeline_vs_naive_faust"]["value"] == 15.0
    assert found["pipeline_vs_naive_faust"]["met"] is True
    assert found["pipeline_vs_quixstreams"] == {
        "target": "pipeline_per_s >= 2 x quixstreams_per_s",
        "value": 2.5,
        "met": True,
    }
    assert found["rules_1000_vs_pipeline"] == {
        "target": "pipeline_1000_rules_per_s >= 0.5 x pipeline_per_s",
        "value": 0.4,
        "met": False,
    }
    assert found["p99_at_half_rate"] == {"target": "p99_ms <= 100", "value": 40.0, "met": True}
    assert found["metrics_off_vs_pipeline"]["value"] == 1.02
    assert found["metrics_off_vs_pipeline"]["met"] is True


def test_pipeline_below_a_third_of_passthrough_or_twice_quix_is_not_met() -> None:
    found = evaluate_targets({**RESULTS, "pipeline_per_s": 24_000.0})
    assert found["pipeline_vs_passthrough"]["value"] == 0.3
    assert found["pipeline_vs_passthrough"]["met"] is False
    assert found["pipeline_vs_quixstreams"]["met"] is True
    found = evaluate_targets({**RESULTS, "quixstreams_per_s": 16_000.0})
    assert found["pipeline_vs_quixstreams"]["value"] == 1.875
    assert found["pipeline_vs_quixstreams"]["met"] is False


def test_bounds_are_inclusive() -> None:
    assert evaluate_targets({"p99_ms": 100.0})["p99_at_half_rate"]["met"] is True
    assert evaluate_targets({"p99_ms": 100.1})["p99_at_half_rate"]["met"] is False
    ratio = Target("t", "a", 2.0, "ge", "b")
    assert evaluate_targets({"a": 4.0, "b": 2.0}, [ratio])["t"]["met"] is True


def test_a_missing_or_failed_result_is_not_measured_rather_than_failed() -> None:
    found = evaluate_targets({**RESULTS, "quixstreams_per_s": None, "p99_ms": None})
    assert found["pipeline_vs_quixstreams"] == {
        "target": "pipeline_per_s >= 2 x quixstreams_per_s",
        "value": None,
        "met": None,
    }
    assert found["p99_at_half_rate"]["met"] is None
    assert found["pipeline_vs_passthrough"]["met"] is True


def test_rounds_give_median_and_range() -> None:
    rounds = Rounds((3_100.0, 3_700.0, 3_400.0))
    assert rounds.median == 3_400.0
    assert (rounds.low, rounds.high) == (3_100.0, 3_700.0)
    assert rounds.median_round() == 2


def test_failed_rounds_do_not_count() -> None:
    rounds = Rounds((None, 3_700.0, 3_400.0))
    assert rounds.measured == [3_700.0, 3_400.0]
    assert rounds.median == 3_550.0
    assert (rounds.low, rounds.high) == (3_400.0, 3_700.0)
    # Even: no round is the median; the closest, the lower one on a tie.
    assert rounds.median_round() == 2
    assert Rounds((None, None)).median is None
    assert Rounds((None,)).median_round() is None
    assert Rounds((5.0,)).median_round() == 0


def test_growth() -> None:
    assert growth(200.0, 220.0) == pytest.approx(0.1)
    assert growth(200.0, 180.0) == pytest.approx(-0.1)


@pytest.mark.parametrize(
    ("samples", "growing"),
    [
        ([0, 10, 5, 20, 0, 15, 8, 12, 3], False),  # noise around a low level
        ([100, 3000, 200, 2500, 150, 2800], False),  # rises and falls: batches
        ([0, 2_000, 5_000, 9_000, 14_000, 20_000], True),  # steadily behind
        ([10, 20], False),  # too few samples to tell
    ],
)
def test_lag_growing(samples: list[int], growing: bool) -> None:
    assert lag_is_growing(samples) is growing
