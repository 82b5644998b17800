"""Which versions of a declaration have been seen, and whether a referral is open.

Pure logic over a small state kept per declaration id (in a Faust table by the worker).
Redelivery of a version already seen gives the same answer again, so outputs stay idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

# Enough for any real amendment history; bounds the state of a hostile declaration id.
MAX_TRACKED_VERSIONS = 64


@dataclass(frozen=True, slots=True)
class VersionState:
    versions: tuple[int, ...]
    open_hit: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"versions": list(self.versions), "open_hit": self.open_hit}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> VersionState:
        versions = data.get("versions") or []
        open_hit = data.get("open_hit")
        return cls(
            tuple(int(v) for v in versions),  # type: ignore[attr-defined]
            int(open_hit) if open_hit is not None else None,  # type: ignore[call-overload]
        )


@dataclass(frozen=True, slots=True)
class Admission:
    superseded_versions: list[int]
    superseded_by: int | None


def admit(state: VersionState | None, version: int) -> tuple[Admission, VersionState]:
    """Place ``version`` among the versions seen so far."""
    seen = state.versions if state else ()
    open_hit = state.open_hit if state else None
    newest = max(seen, default=0)
    lower = sorted(v for v in seen if v < version)
    superseded_by = newest if newest > version else None
    merged = tuple(sorted(set(seen) | {version})[-MAX_TRACKED_VERSIONS:])
    return Admission(lower, superseded_by), VersionState(merged, open_hit)


def hit_action(state: VersionState, version: int, referral: bool, invalidated: bool) -> str:
    """What to publish on the hits topic for the newest version: 'hit', 'tombstone' or 'none'.

    A newer version that is no longer a referral closes any earlier hit with a tombstone, also
    when the state says none is open: on redelivery after a crash the state may already be
    written while the tombstone is not. A spare tombstone costs nothing in a compacted topic.
    """
    if invalidated:
        return "tombstone"
    if referral:
        return "hit"
    has_earlier = any(v < version for v in state.versions)
    if state.open_hit is not None or has_earlier:
        return "tombstone"
    return "none"
