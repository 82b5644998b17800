"""What ``screening aeo|watchlist sync`` does, worked out without a broker.

A sync makes a compacted reference topic hold exactly the records of a file: every record of the
file that the topic does not already hold with the same value is published, every record on the
topic that the file no longer holds is deleted (a tombstone). ``plan_sync`` compares the two;
``check_deletions`` refuses a plan that would delete more than a set share of the topic's records
at once, as a truncated export would.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from pipeline.errors import ScreeningError

__all__ = [
    "DEFAULT_MAX_DELETE_SHARE",
    "DeletionRefused",
    "Duplicate",
    "FileRecord",
    "check_deletions",
    "deletions_allowed",
    "duplicates",
    "plan_sync",
]

DEFAULT_MAX_DELETE_SHARE = 0.10


class DeletionRefused(ScreeningError):
    """A sync would delete more of the topic's records than allowed: check that the file is
    complete, then run again with --force or a higher --max-delete-share."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A valid row of the file: its line, its key and the record's encoded value."""

    line: int
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A key the file holds twice: the later line, and the line that first had it."""

    line: int
    key: bytes
    first_line: int


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What to publish (new or changed records, in file order), how many records of the file
    the topic already holds as they are, what to delete (sorted) and how many records the topic
    holds now."""

    publish: tuple[tuple[bytes, bytes], ...]
    unchanged: int
    delete: tuple[bytes, ...]
    current: int

    @property
    def delete_share(self) -> float:
        return len(self.delete) / self.current if self.current else 0.0


def duplicates(records: Iterable[FileRecord]) -> list[Duplicate]:
    """Every row whose key an earlier row of the file already has."""
    first: dict[bytes, int] = {}
    found: list[Duplicate] = []
    for record in records:
        seen = first.setdefault(record.key, record.line)
        if seen != record.line:
            found.append(Duplicate(record.line, record.key, seen))
    return found


def plan_sync(records: Iterable[FileRecord], current: Mapping[bytes, bytes]) -> SyncPlan:
    """Compare the file's records with what the topic holds (its last value per key, tombstoned
    keys absent). A value is unchanged when it is the same JSON as the topic's, whatever the
    order of its fields or its spacing."""
    publish: list[tuple[bytes, bytes]] = []
    unchanged = 0
    in_file: set[bytes] = set()
    for record in records:
        if record.key in in_file:
            continue  # the caller reports duplicates before planning
        in_file.add(record.key)
        held = current.get(record.key)
        if held is not None and _same(held, record.value):
            unchanged += 1
        else:
            publish.append((record.key, record.value))
    delete = tuple(sorted(key for key in current if key not in in_file))
    return SyncPlan(tuple(publish), unchanged, delete, len(current))


def deletions_allowed(current: int, max_share: float) -> int:
    """How many of ``current`` records one sync may delete without --force."""
    # The epsilon keeps 0.1 of 30 records at 3 despite floating point.
    return math.floor(max_share * current + 1e-9)


def check_deletions(plan: SyncPlan, max_share: float, force: bool, topic: str, file: str) -> None:
    """Raise ``DeletionRefused`` when the plan deletes more than ``max_share`` of the topic's
    records and ``force`` is not given."""
    if force or len(plan.delete) <= deletions_allowed(plan.current, max_share):
        return
    # The smallest share in whole percent that lets this sync through.
    needed = math.ceil(len(plan.delete) * 100 / plan.current - 1e-9) / 100
    raise DeletionRefused(
        f"{file}: refusing to delete {len(plan.delete)} of the {plan.current} records on "
        f"{topic} ({_percent(plan.delete_share)}), more than the {_percent(max_share)} allowed; "
        f"if the file is complete, run again with --force "
        f"or --max-delete-share {needed:g}"
    )


def _percent(share: float) -> str:
    return f"{share * 100:.3g} %"


_decode = msgspec.json.Decoder().decode


def _same(held: bytes, value: bytes) -> bool:
    if held == value:
        return True
    try:
        old: Any = _decode(held)
        new: Any = _decode(value)
    except msgspec.DecodeError:
        return False  # what the topic holds is not JSON: replace it
    return bool(old == new)
