"""What one joined batch adds to the worker's counters."""

from __future__ import annotations

from pipeline import metrics
from pipeline.feedback.stats import Tally

RULE = "UNIT-TEST-FEEDBACK-RULE"
WATCHED: tuple[tuple[str, dict[str, str]], ...] = (
    ("screening_rule_referrals_total", {"rule_id": RULE}),
    ("screening_examination_results_total", {"disposition": "waiting"}),
    ("screening_examination_results_total", {"disposition": "malformed"}),
    ("screening_unreferred_examinations_total", {}),
)


def samples() -> list[float]:
    return [metrics.REGISTRY.get_sample_value(name, labels) or 0.0 for name, labels in WATCHED]


def test_a_batch_adds_its_tally_and_a_referred_rule_gets_every_series() -> None:
    before = samples()
    tally = Tally()
    tally.referrals[RULE] = 2
    tally.events.update({"examination_waiting": 3, "assessment_joined": 2})
    tally.unreferred_examinations = 1
    metrics.record_feedback(tally, malformed=4)

    added = [after - earlier for after, earlier in zip(samples(), before, strict=True)]
    assert added == [2, 3, 4, 1]
    for figure in ("examinations", "seizures", "irregularities"):
        # Exported at 0 from the rule's first referral: precision reads 0/0, not missing.
        value = metrics.REGISTRY.get_sample_value(
            f"screening_rule_{figure}_total", {"rule_id": RULE}
        )
        assert value == 0.0


def test_every_disposition_is_exported_from_the_start() -> None:
    for disposition in metrics.EXAMINATION_DISPOSITIONS:
        labels = {"disposition": disposition}
        value = metrics.REGISTRY.get_sample_value("screening_examination_results_total", labels)
        assert value is not None
