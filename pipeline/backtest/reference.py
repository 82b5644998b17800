"""Reference data for a backtest, from the CSV files the loaders publish.

Rows go through the same CSV reader as ``screening aeo load`` and ``screening watchlist load``
and are applied as the worker's topic mirrors apply records, so a backtest sees what a worker
would hold after those files were loaded. Bad rows are skipped, as the loaders skip them.

The clearances of false watch-list matches (``customs.watchlist.clearances.v1``) are not
applied: officers give them in the workbench, one party and one entry at a time, until a date;
they exist only on that topic, and a backtest runs from files, without a broker. A backtest
shows what the rules and the lists alone refer: a party cleared in production keeps its
watch-list finding here, as it would on a filing after its clearance expires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from pipeline.reference.aeo import AeoRegistry
from pipeline.reference.csv_load import RowError, RowResult, read_aeo_csv, read_watchlist_csv
from pipeline.reference.parties import ReferenceData
from pipeline.reference.watchlist import Watchlist
from pipeline.settings import ScoringSettings

__all__ = ["load_reference"]

_ENCODE = msgspec.json.Encoder().encode


@dataclass
class LoadedReference:
    data: ReferenceData
    aeo_records: int = 0
    watchlist_entries: int = 0
    skipped: list[str] = field(default_factory=list)  # "FILE:LINE: reason", as the loaders say


def load_reference(
    scoring: ScoringSettings, aeo_files: Iterable[Path], watchlist_files: Iterable[Path]
) -> LoadedReference:
    """A ReferenceData configured as the worker's, filled from the given CSV files in order."""
    data = ReferenceData(
        AeoRegistry(scoring.mra_partners),
        Watchlist(fuzzy_threshold=scoring.watchlist_fuzzy_threshold),
    )
    loaded = LoadedReference(data)
    for path in aeo_files:
        for key, value in _records(path, read_aeo_csv, lambda r: r.operator_id, loaded.skipped):
            data.apply_aeo(key, value)
            loaded.aeo_records += 1
    for path in watchlist_files:
        rows = _records(path, read_watchlist_csv, lambda e: e.entry_id, loaded.skipped)
        for key, value in rows:
            data.apply_watchlist(key, value)
            loaded.watchlist_entries += 1
    return loaded


def _records(
    path: Path,
    read: Callable[[Path], Iterator[RowResult[Any]]],
    key: Callable[[Any], str],
    skipped: list[str],
) -> Iterator[tuple[bytes, bytes]]:
    for row in read(path):
        if isinstance(row, RowError):
            skipped.append(f"{path}:{row.line}: {row.reason}")
        else:
            yield key(row.record).encode(), _ENCODE(row.record)
