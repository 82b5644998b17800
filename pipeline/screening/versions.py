"""Which versions of a declaration have been seen, whether a referral is open, and the newest
version's assessment.

Pure logic over a small state kept per declaration id (in a Faust table by the worker).
Redelivery of a version already seen gives the same answer again, so outputs stay idempotent.

The assessments topic is compacted by declaration id, so its last record for a key is what a
compacted reader takes as the declaration's assessment. An older version that arrives after a
newer one is still assessed and its assessment published (for audit), and the newest version's
assessment is then published again after it, from the encoded copy kept here, so the key ends
with the newest version's assessment. The copy is kept only from version 2 on (nothing can
arrive late behind a first version, and most declarations have only one), and not for an
assessment too large for the state's changelog record; states written before the copy was kept
have none either. A late older version then leaves its own assessment last, and is counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["MAX_TRACKED_VERSIONS", "Admission", "Closure", "VersionState", "admit", "hit_action"]

# Enough for any real amendment history; bounds the state of a hostile declaration id.
MAX_TRACKED_VERSIONS = 64

# What to publish on the hits topic for a declaration's newest version.
HitAction = Literal["hit", "tombstone", "none"]


@dataclass(frozen=True, slots=True)
class Closure:
    """A referral withdrawn by a later version or an invalidation, remembered so that the
    closing version, screened again after a crash, tells the filer the same again."""

    by: int  # the version (or invalidation) that closed it
    hit: int  # the version whose referral was closed
    kind: str | None  # that referral's outcome (RFI, HRCM, DNL); None if not known
    filer: str | None  # whom its notice was addressed to

    def to_json(self) -> dict[str, object]:
        return {"by": self.by, "hit": self.hit, "kind": self.kind, "filer": self.filer}

    @classmethod
    def from_json(cls, data: object) -> Closure | None:
        if not isinstance(data, dict):
            return None
        kind, filer = data.get("kind"), data.get("filer")
        return cls(
            int(data["by"]),
            int(data["hit"]),
            kind if isinstance(kind, str) else None,
            filer if isinstance(filer, str) else None,
        )


@dataclass(frozen=True, slots=True)
class VersionState:
    versions: tuple[int, ...]
    open_hit: int | None = None
    # The open referral's outcome and the filer told about it, for the notice that closes it.
    # None in states written before notices to filers existed.
    open_kind: str | None = None
    open_filer: str | None = None
    closed: Closure | None = None  # the last referral closed, while its closer is the newest
    # The newest version's assessment as published (JSON text), published again after the
    # assessment of an older version that arrives late. None for a first version, for one too
    # large to keep, and in states written before it was kept (``batch._kept_copy``).
    newest_assessment: str | None = None

    # ``dataclasses.replace`` in a tenth of its time: both run once per declaration.
    def with_versions(self, versions: tuple[int, ...]) -> VersionState:
        return VersionState(
            versions,
            self.open_hit,
            self.open_kind,
            self.open_filer,
            self.closed,
            self.newest_assessment,
        )

    def keeping(self, newest_assessment: str | None) -> VersionState:
        return VersionState(
            self.versions,
            self.open_hit,
            self.open_kind,
            self.open_filer,
            self.closed,
            newest_assessment,
        )

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"versions": list(self.versions), "open_hit": self.open_hit}
        # Written only when set: most declarations are never referred.
        if self.open_kind is not None:
            data["open_kind"] = self.open_kind
        if self.open_filer is not None:
            data["open_filer"] = self.open_filer
        if self.closed is not None:
            data["closed"] = self.closed.to_json()
        if self.newest_assessment is not None:
            data["newest_assessment"] = self.newest_assessment
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> VersionState:
        versions = data.get("versions") or []
        open_hit = data.get("open_hit")
        open_kind, open_filer = data.get("open_kind"), data.get("open_filer")
        newest = data.get("newest_assessment")
        return cls(
            tuple(int(v) for v in versions),  # type: ignore[attr-defined]
            int(open_hit) if open_hit is not None else None,  # type: ignore[call-overload]
            open_kind if isinstance(open_kind, str) else None,
            open_filer if isinstance(open_filer, str) else None,
            Closure.from_json(data.get("closed")),
            newest if isinstance(newest, str) else None,
        )


@dataclass(frozen=True, slots=True)
class Admission:
    superseded_versions: list[int]
    superseded_by: int | None


def admit(state: VersionState | None, version: int) -> tuple[Admission, VersionState]:
    """Place ``version`` among the versions seen so far."""
    seen = state.versions if state else ()
    newest = max(seen, default=0)
    lower = sorted(v for v in seen if v < version)
    superseded_by = newest if newest > version else None
    merged = tuple(sorted(set(seen) | {version})[-MAX_TRACKED_VERSIONS:])
    admitted = state.with_versions(merged) if state else VersionState(merged)
    return Admission(lower, superseded_by), admitted


def hit_action(state: VersionState, version: int, referral: bool, invalidated: bool) -> HitAction:
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
