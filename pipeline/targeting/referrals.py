"""The open referrals as the compacted hits topic holds them, filtered and ranked.

``OpenReferrals`` applies the records of ``customs.targeting.hits.v1`` one by one: a hit
replaces the declaration's earlier one (one open referral per declaration), a tombstone
withdraws it. Each record gives the change an officer's view must show, if any.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson

from pipeline.screening.outcome import PRIORITY

__all__ = ["Change", "Hit", "HitFilter", "OpenReferrals", "Shown", "Withdrawn", "rank_key"]

Hit = Mapping[str, Any]  # a Hit as published (JSON object)


@dataclass(frozen=True, slots=True)
class HitFilter:
    """Which referrals to show; an empty collection does not filter."""

    outcomes: Collection[str] = ()
    rules: Collection[str] = ()
    since: datetime | None = None  # assessed at or after

    def accepts(self, hit: Hit) -> bool:
        if self.outcomes and hit.get("outcome") not in self.outcomes:
            return False
        if self.rules and not any(m.get("rule_id") in self.rules for m in hit.get("matches", [])):
            return False
        if self.since is not None:
            assessed = _timestamp(hit.get("assessed_at"))
            if assessed is None or assessed < self.since:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Shown:
    """A referral to show, new or replacing the declaration's earlier one."""

    hit: Hit


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """A referral that was shown and is gone: ``closed`` by a later version or an
    invalidation (tombstone), or replaced by a version the filter does not accept."""

    declaration_id: str
    version: int
    reason: Literal["closed", "filtered"]

    def as_json(self) -> dict[str, Any]:
        return {
            "withdrawn": True,
            "declaration_id": self.declaration_id,
            "version": self.version,
            "reason": self.reason,
        }


Change = Shown | Withdrawn


def rank_key(hit: Hit) -> tuple[int, float, str, str]:
    """DNL, then HRCM, then RFI; higher score first; then the longest waiting first."""
    priority = hit.get("priority") or PRIORITY.get(str(hit.get("outcome")), len(PRIORITY) + 1)
    return (
        int(priority),
        -float(hit.get("score", 0.0)),
        str(hit.get("assessed_at", "")),
        str(hit.get("declaration_id", "")),
    )


class OpenReferrals:
    def __init__(self, hit_filter: HitFilter | None = None, declarations: bool = True) -> None:
        """``declarations=False`` drops the declaration each hit carries: a view that does not
        show it holds a third of the memory per open referral."""
        self.filter = hit_filter or HitFilter()
        self.declarations = declarations
        self._shown: dict[bytes, Hit] = {}

    def __len__(self) -> int:
        return len(self._shown)

    def apply(self, key: bytes | None, value: bytes | None) -> Change | None:
        """Apply one record of the hits topic; return what the view must change, if anything."""
        if key is None:
            return None
        previous = self._shown.pop(key, None)
        hit = _decode(value)
        if hit is not None and not self.declarations:
            hit.pop("declaration", None)
        if hit is not None and self.filter.accepts(hit):
            self._shown[key] = hit
            return Shown(hit)
        if previous is None:
            return None
        reason: Literal["closed", "filtered"] = "closed" if value is None else "filtered"
        return Withdrawn(previous["declaration_id"], previous["version"], reason)

    def ranked(self) -> list[Hit]:
        return sorted(self._shown.values(), key=rank_key)


def _decode(value: bytes | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        document = _decode_beyond_orjson(value)
    if not isinstance(document, dict) or not _well_formed(document):
        return None  # not written by the pipeline: nothing an officer can act on
    return document


def _decode_beyond_orjson(value: bytes) -> Any:
    """A hit embeds the declaration as the filer sent it, and the screening accepts any JSON
    number in a field the contract does not name: one beyond a double (``1e400``) or an
    integer of hundreds of digits is JSON that orjson refuses. The standard library reads
    them: huge integers as floats (the JSON lines output must write them again), and a float
    beyond a double as infinity (written as null). Anything else it refuses is not a hit."""
    try:
        return json.loads(value, parse_int=_int_or_float)
    except (ValueError, RecursionError):
        return None  # not written by the pipeline: nothing an officer can act on


def _int_or_float(text: str) -> int | float:
    # orjson writes integers of 64 bits at most; below 19 digits they all fit.
    return int(text) if len(text) < 19 else float(text)


def _well_formed(hit: dict[str, Any]) -> bool:
    return (
        isinstance(hit.get("declaration_id"), str)
        and isinstance(hit.get("version"), int)
        and isinstance(hit.get("outcome"), str)
        and isinstance(hit.get("score"), int | float)
        and isinstance(hit.get("matches", []), list)
        and all(isinstance(m, dict) for m in hit.get("matches", []))
    )


def _timestamp(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
