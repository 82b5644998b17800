"""``--since``: a duration back from now (``15m``, ``2h``, ``1h30m``) or an RFC 3339 time."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

__all__ = ["parse_since"]

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_DURATION = re.compile(r"(?:\d+[smhd])+")
_PART = re.compile(r"(\d+)([smhd])")


def parse_since(text: str, now: datetime) -> datetime:
    """The moment ``text`` names, in UTC if it has a zone; ``ValueError`` says what is wrong."""
    value = text.strip()
    if _DURATION.fullmatch(value):
        back = sum(
            (timedelta(**{_UNITS[unit]: int(amount)}) for amount, unit in _PART.findall(value)),
            timedelta(),
        )
        return now - back
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (like 15m, 2h, 1d) nor an RFC 3339 time "
            "(like 2026-11-27T15:04:05Z)"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: add Z or an offset such as +01:00")
    return moment
