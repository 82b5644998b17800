"""Histogram reporting and the probe's bookkeeping, without a broker."""

from __future__ import annotations

import pytest

from load_tests.latency import LatencyRecorder, SendLog, new_histogram, record_ms, summarise


def test_percentiles_in_milliseconds() -> None:
    histogram = new_histogram()
    for ms in range(1, 1001):  # 1 ms .. 1000 ms, one each
        record_ms(histogram, float(ms))
    found = summarise(histogram)
    assert found["count"] == 1000
    assert found["p50_ms"] == pytest.approx(500, rel=0.002)
    assert found["p99_ms"] == pytest.approx(990, rel=0.002)
    assert found["p999_ms"] == pytest.approx(999, rel=0.002)
    assert found["max_ms"] == pytest.approx(1000, rel=0.002)
    curve = dict((p, ms) for p, ms in found["curve"])
    assert curve[100.0] == found["max_ms"]
    assert list(curve.values()) == sorted(curve.values())


def test_sub_millisecond_and_clock_rounding_are_kept_positive() -> None:
    histogram = new_histogram()
    record_ms(histogram, 0.25)
    record_ms(histogram, -0.4)  # a millisecond broker stamp just before the µs send time
    found = summarise(histogram)
    assert found["count"] == 2
    assert found["max_ms"] == pytest.approx(0.25, rel=0.01)


def test_only_first_assessments_of_declarations_this_run_sent_count() -> None:
    send_log = SendLog()
    send_log.note(("D-1", 1), 100.000)
    send_log.note(("D-1", 2), 100.500)
    probe = LatencyRecorder(send_log)
    probe.observe(b'{"declaration_id": "D-1", "version": 1}', 100_012)
    probe.observe(b'{"declaration_id": "D-1", "version": 1}', 100_900)  # a duplicate
    probe.observe(b'{"declaration_id": "D-9", "version": 1}', 100_013)  # another run's
    probe.observe(b'{"declaration_id": "D-1", "version": 2}', 100_530)
    probe.observe(None, 100_600)  # a tombstone
    found = summarise(probe.histogram)
    assert probe.assessed == 2
    assert found["max_ms"] == pytest.approx(30, rel=0.01)
    assert found["p50_ms"] == pytest.approx(12, rel=0.01)


def test_what_is_sent_during_the_warm_up_is_not_measured() -> None:
    send_log = SendLog()
    send_log.note(("D-1", 1), 100.000, measured=False)
    send_log.note(("D-2", 1), 100.010)
    probe = LatencyRecorder(send_log)
    probe.observe(b'{"declaration_id": "D-1", "version": 1}', 100_900)
    probe.observe(b'{"declaration_id": "D-2", "version": 1}', 100_030)
    assert send_log.measured == 1
    assert probe.assessed == 1
    assert summarise(probe.histogram)["max_ms"] == pytest.approx(20, rel=0.01)
