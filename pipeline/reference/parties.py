"""Reference data for the parties of a declaration: AEO status and watch-list findings.

The registry and the watch list are filled from their compacted topics by mirror threads while
batches are evaluated in another thread; one lock keeps a lookup from seeing half an update.

The same companies file again and again, so lookups are remembered per party (all its fields)
and date; any change to the reference data forgets them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import date
from typing import Any

import msgspec

from pipeline.contract.models import AeoRecord, Declaration, Party, PartyStatus, WatchlistEntry
from pipeline.reference.aeo import AeoFinding, AeoRegistry, to_party_status
from pipeline.reference.watchlist import Watchlist

_AEO_DECODER = msgspec.json.Decoder(AeoRecord)
_PARTY_KEY = msgspec.msgpack.Encoder()
# Enough for every active trader of a large port; the memo starts afresh when it is full.
MEMO_LIMIT = 200_000
_WATCHLIST_DECODER = msgspec.json.Decoder(WatchlistEntry)


class ReferenceData:
    def __init__(self, registry: AeoRegistry, watchlist: Watchlist) -> None:
        self.registry = registry
        self.watchlist = watchlist
        self._lock = threading.Lock()
        self._memo: dict[tuple[bytes, date], tuple[dict[str, Any], AeoFinding]] = {}

    # --- updates, from the mirrors of the compacted topics ---------------------------------

    def apply_aeo(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:
            if key is not None:
                with self._lock:
                    self.registry.delete(key.decode("utf-8", "replace"))
                    self._memo.clear()
            return
        record = _AEO_DECODER.decode(value)
        with self._lock:
            self.registry.put(record)
            self._memo.clear()

    def apply_watchlist(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:
            if key is not None:
                with self._lock:
                    self.watchlist.delete(key.decode("utf-8", "replace"))
                    self._memo.clear()
            return
        entry = _WATCHLIST_DECODER.decode(value)
        with self._lock:
            self.watchlist.put(entry)
            self._memo.clear()

    # --- lookups, for the rules (PartyLookup) ----------------------------------------------

    def lookup(
        self, declaration: Declaration, role: str, party: Party
    ) -> tuple[Mapping[str, Any], PartyStatus]:
        key = (_PARTY_KEY.encode(party), declaration.submitted_at.date())
        with self._lock:
            found = self._memo.get(key)
            if found is None:
                found = self._look_up(party, key[1])
                if len(self._memo) >= MEMO_LIMIT:
                    self._memo.clear()
                self._memo[key] = found
        facts, aeo = found
        return facts, to_party_status(role, aeo)  # type: ignore[arg-type]

    def _look_up(self, party: Party, on: date) -> tuple[dict[str, Any], AeoFinding]:
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
        return facts, aeo
