"""Reference data for the parties of a declaration: AEO status and watch-list findings.

The registry and the watch list are filled from their compacted topics by mirror threads while
batches are evaluated in another thread; one lock keeps a lookup from seeing half an update.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import msgspec

from pipeline.contract.models import AeoRecord, Declaration, Party, PartyStatus, WatchlistEntry
from pipeline.reference.aeo import AeoRegistry, to_party_status
from pipeline.reference.watchlist import Watchlist

_AEO_DECODER = msgspec.json.Decoder(AeoRecord)
_WATCHLIST_DECODER = msgspec.json.Decoder(WatchlistEntry)


class ReferenceData:
    def __init__(self, registry: AeoRegistry, watchlist: Watchlist) -> None:
        self.registry = registry
        self.watchlist = watchlist
        self._lock = threading.Lock()

    # --- updates, from the mirrors of the compacted topics ---------------------------------

    def apply_aeo(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:
            if key is not None:
                with self._lock:
                    self.registry.delete(key.decode("utf-8", "replace"))
            return
        record = _AEO_DECODER.decode(value)
        with self._lock:
            self.registry.put(record)

    def apply_watchlist(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:
            if key is not None:
                with self._lock:
                    self.watchlist.delete(key.decode("utf-8", "replace"))
            return
        entry = _WATCHLIST_DECODER.decode(value)
        with self._lock:
            self.watchlist.put(entry)

    # --- lookups, for the rules (PartyLookup) ----------------------------------------------

    def lookup(
        self, declaration: Declaration, role: str, party: Party
    ) -> tuple[Mapping[str, Any], PartyStatus]:
        on = declaration.submitted_at.date()
        with self._lock:
            aeo = self.registry.lookup(party, on)
            findings = self.watchlist.match(party)
        facts: dict[str, Any] = {
            "aeo_status": aeo.status,
            "aeo_type": aeo.aeo_type,
            "aeo_security": aeo.security,
        }
        if findings:
            worst = findings[0]  # most severe action first, then the best score
            facts.update(
                watchlist_action=worst.action,
                watchlist_list=worst.list,
                watchlist_entry=worst.entry_id,
                watchlist_match=worst.how,
                watchlist_score=worst.score,
            )
        return facts, to_party_status(role, aeo)  # type: ignore[arg-type]
