"""``--since``: durations back from now and RFC 3339 times; anything else is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipeline.targeting.since import parse_since

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("1d", timedelta(days=1)),
        (" 2h ", timedelta(hours=2)),
    ],
)
def test_a_duration_counts_back_from_now(text: str, back: timedelta) -> None:
    assert parse_since(text, NOW) == NOW - back


def test_an_rfc_3339_time_is_taken_as_written() -> None:
    assert parse_since("2026-11-27T14:05:00Z", NOW) == datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
    assert parse_since("2026-11-27T15:05:00.250+01:00", NOW) == datetime(
        2026, 11, 27, 15, 5, 0, 250000, tzinfo=timezone(timedelta(hours=1))
    )


@pytest.mark.parametrize("text", ["", "15", "m15", "15 minutes", "-2h", "1.5h", "yesterday"])
def test_anything_else_is_refused_with_the_forms_it_takes(text: str) -> None:
    with pytest.raises(ValueError, match="neither a duration"):
        parse_since(text, NOW)


def test_a_time_without_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        parse_since("2026-11-27T14:05:00", NOW)
