"""Ports' positions, and the usual sailing time between two of them.

A sea filing that gives no loading time still gives its ports and, often, its arrival time.
The voyage between the ports cannot be shorter than the great circle between them, so the
great-circle distance at a container ship's usual service speed is an estimate that is never
longer than the real sailing time: the loading time it gives (arrival less sailing) is never
earlier than the real one, and a filing found late on it is late on any route.
"""

from __future__ import annotations

import csv
import functools
import io
import math
from importlib import resources

__all__ = ["great_circle_nm", "ports", "usual_sailing_hours"]

SERVICE_SPEED_KNOTS = 18.0
_EARTH_RADIUS_NM = 3440.065


@functools.cache
def ports() -> dict[str, tuple[float, float]]:
    """UN/LOCODE → (latitude, longitude) in degrees, for every port and airport with coordinates."""
    text = (resources.files("pipeline.reference") / "data" / "ports.csv").read_text("utf-8")
    return {
        row["code"]: (float(row["lat"]), float(row["lon"]))
        for row in csv.DictReader(io.StringIO(text))
    }


def great_circle_nm(start: tuple[float, float], end: tuple[float, float]) -> float:
    """Distance in nautical miles along the earth's surface (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*start, *end))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_NM * math.asin(math.sqrt(min(1.0, a)))


@functools.lru_cache(maxsize=65_536)
def usual_sailing_hours(loading: str, discharge: str) -> float | None:
    """Hours at sea from one port to another, at least; none when either port is unknown."""
    known = ports()
    start, end = known.get(loading.upper()), known.get(discharge.upper())
    if start is None or end is None:
        return None
    return round(great_circle_nm(start, end) / SERVICE_SPEED_KNOTS, 1)
