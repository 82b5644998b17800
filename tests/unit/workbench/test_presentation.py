from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipeline.workbench.presentation import pretty, stamp, time_left, urgency, utc_minute

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("left", "text"),
    [
        (timedelta(minutes=5), "5 min"),
        (timedelta(hours=3, minutes=20), "3 h 20 min"),
        (timedelta(days=2, hours=1), "2 d 1 h"),
        (-timedelta(minutes=40), "passed 40 min ago"),
    ],
)
def test_time_left_before_loading(left: timedelta, text: str) -> None:
    assert time_left(NOW + left, NOW) == text


def test_unknown_loading_time() -> None:
    assert time_left(None, NOW) == "unknown"
    assert urgency(None, NOW, 3600) == ""


def test_red_when_loading_is_near_or_past() -> None:
    assert urgency(NOW - timedelta(seconds=1), NOW, 3600) == "passed"
    assert urgency(NOW + timedelta(minutes=59), NOW, 3600) == "soon"
    assert urgency(NOW + timedelta(minutes=61), NOW, 3600) == ""


def test_stamps_are_utc() -> None:
    tokyo = datetime(2026, 12, 5, 21, 0, tzinfo=UTC).astimezone()
    assert stamp(tokyo) == "2026-12-05 21:00 UTC"


def test_a_filing_with_numbers_beyond_64_bits_is_shown() -> None:
    assert '"long": ' + "9" * 30 in pretty({"long": int("9" * 30), "a": 1})


def test_the_examination_form_is_prefilled_in_utc() -> None:
    auckland = timezone(timedelta(hours=13))
    assert utc_minute(datetime(2026, 12, 6, 1, 30, 59, tzinfo=auckland)) == "2026-12-05T12:30"
