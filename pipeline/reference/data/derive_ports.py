"""Derive ``ports.csv`` from geoapify/un-locode's file of all locations.

``python pipeline/reference/data/derive_ports.py geoapify-unlocode-all.csv.gz`` writes the
UN/LOCODE locations that have coordinates and are a port or an airport (function 1 or 4: many
filers give a port city's airport-coded location, such as CNNGB for Ningbo), as
``code,lat,lon`` with two decimals (about a kilometre), sorted by code.
"""

from __future__ import annotations

import csv
import gzip
import sys
from pathlib import Path


def _port_or_airport(function: str) -> bool:
    return function[:1] == "1" or function[3:4] == "4"


def derive(source: Path, target: Path) -> int:
    with gzip.open(source, "rt", encoding="utf-8", newline="") as handle:
        rows = sorted(
            (row["country"] + row["location"], float(row["lat"]), float(row["lon"]))
            for row in csv.DictReader(handle)
            if row["lat"] and row["lon"] and _port_or_airport(row["function"] or "")
        )
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("code", "lat", "lon"))
        writer.writerows((code, f"{lat:.2f}", f"{lon:.2f}") for code, lat, lon in rows)
    return len(rows)


if __name__ == "__main__":
    count = derive(Path(sys.argv[1]), Path(__file__).with_name("ports.csv"))
    print(f"{count} ports written")
