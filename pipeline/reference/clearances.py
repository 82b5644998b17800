"""False watch-list matches that officers cleared: one party, one list entry, until a date.

A clearance is published by the workbench to ``customs.watchlist.clearances.v1`` (compacted,
keyed by ``clearance_key``) and applied by every worker: the party that was cleared no longer
matches that entry while the clearance is in force; it still matches every other entry, and
any other party still matches this one.

"The same party" is decided by ``party_key``: its normalised name, its country and every
identifier it gives. A filing that changes any of them is another party for this purpose and
is screened in full again: a clearance is never wider than what the officer looked at. The key
is a digest, so neither the topic's keys nor its values carry a party's name.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import date, datetime

import msgspec

from pipeline.contract.models import Party
from pipeline.reference.normalise import normalise_id, normalise_name

__all__ = ["Clearances", "WatchlistClearance", "clearance_key", "encode", "party_key"]

PartyKey = str


class WatchlistClearance(msgspec.Struct, forbid_unknown_fields=False):
    """One cleared false match, as published on the clearances topic."""

    party_key: PartyKey
    entry_id: str
    expires_on: date  # the last day (UTC) on which a filing of the party is let through
    cleared_at: datetime
    clearance_id: str  # the workbench's reference, for the audit trail


def party_key(party: Party) -> PartyKey:
    """A stable digest of who the party is: name, country and identifiers, normalised."""
    ids = sorted({f"{i.scheme}:{normalise_id(i.value)}" for i in party.ids})
    country = party.address.country if party.address and party.address.country else ""
    text = "\x1f".join([normalise_name(party.name), country, *ids])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def clearance_key(party: PartyKey, entry_id: str) -> bytes:
    return f"{party}:{entry_id}".encode()


_DECODER = msgspec.json.Decoder(WatchlistClearance)
_ENCODER = msgspec.json.Encoder()


def encode(clearance: WatchlistClearance) -> bytes:
    return _ENCODER.encode(clearance)


def decode(value: bytes) -> WatchlistClearance:
    return _DECODER.decode(value)


class Clearances:
    """The clearances in force, filled from the compacted topic; safe across threads."""

    def __init__(self) -> None:
        self._by_key: dict[bytes, WatchlistClearance] = {}
        self._by_party: dict[PartyKey, dict[str, date]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_key)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the topic: a clearance, or a tombstone that lifts one."""
        if value is None:
            if key is not None:
                with self._lock:
                    self._remove(key)
            return
        clearance = decode(value)
        with self._lock:
            self._remove(clearance_key(clearance.party_key, clearance.entry_id))
            self._by_key[clearance_key(clearance.party_key, clearance.entry_id)] = clearance
            entries = self._by_party.setdefault(clearance.party_key, {})
            entries[clearance.entry_id] = clearance.expires_on

    def cleared_entries(self, party: PartyKey, on: date) -> frozenset[str]:
        """The entries this party is cleared of on that day."""
        with self._lock:
            entries = self._by_party.get(party)
            if not entries:
                return frozenset()
            return frozenset(entry for entry, last in entries.items() if on <= last)

    def _remove(self, key: bytes) -> None:
        held = self._by_key.pop(key, None)
        if held is None:
            return
        entries = self._by_party.get(held.party_key, {})
        entries.pop(held.entry_id, None)
        if not entries:
            self._by_party.pop(held.party_key, None)
