"""The open referrals as the compacted hits topic holds them, filtered and ranked.

``OpenReferrals`` applies the records of ``customs.targeting.hits.v1`` one by one: a hit
replaces the declaration's earlier one (one open referral per declaration), a tombstone
withdraws it. Each record gives the change an officer's view must show, if any.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson

from pipeline.screening.outcome import PRIORITY

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
    def __init__(self, hit_filter: HitFilter | None = None) -> None:
        self.filter = hit_filter or HitFilter()
        self._shown: dict[bytes, Hit] = {}

    def __len__(self) -> int:
        return len(self._shown)

    def apply(self, key: bytes | None, value: bytes | None) -> Change | None:
        """Apply one record of the hits topic; return what the view must change, if anything."""
        if key is None:
            return None
        previous = self._shown.pop(key, None)
        hit = _decode(value)
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
        return None  # not written by the pipeline: nothing an officer can act on
    if not isinstance(document, dict) or not _well_formed(document):
        return None  # not written by the pipeline: nothing an officer can act on
    return document


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
