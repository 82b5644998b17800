"""How values read on the pages: times left before loading, timestamps, filings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
import orjson

from pipeline.settings import WorkbenchSettings


def time_left(loading_at: datetime | None, now: datetime | None) -> str:
    """ "3 h 20 min", "passed 40 min ago", or "unknown"."""
    if loading_at is None:
        return "unknown"
    left = loading_at - (now or datetime.now(UTC))
    if left < timedelta(0):
        return f"passed {_span(-left)} ago"
    return _span(left)


def urgency(loading_at: datetime | None, now: datetime | None, soon_s: int) -> str:
    """ "passed", "soon" or "" for the row's flag."""
    if loading_at is None:
        return ""
    left = (loading_at - (now or datetime.now(UTC))).total_seconds()
    if left < 0:
        return "passed"
    return "soon" if left <= soon_s else ""


def stamp(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def utc_minute(value: datetime) -> str:
    """A datetime-local field's value: the time in UTC, to the minute (the database may hand
    times back in its own zone)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def pretty(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # an integer beyond 64 bits, which a filer may send
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def register_filters(env: jinja2.Environment, workbench: WorkbenchSettings) -> None:
    env.filters["time_left"] = time_left
    env.filters["stamp"] = stamp
    env.filters["utc_minute"] = utc_minute
    env.filters["pretty"] = pretty
    env.globals["urgency"] = lambda at, now: urgency(at, now, workbench.loading_soon_s)


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"
