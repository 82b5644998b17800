"""Reference data for the parties of a declaration: AEO status and watch-list findings.

The registry, the watch list and the clearances of false watch-list matches are filled from
their compacted topics by mirror threads while batches are evaluated in another thread; one
lock keeps a lookup from seeing half an update.

A watch-list finding whose entry is cleared for the party (``clearances.party_key``) on the
declaration's submitted date (UTC, as clearances expire) is dropped before the worst finding is
chosen: the party still matches every other entry, other parties still match this one.

The same companies file again and again, so lookups are remembered per party (all its fields)
and date; any change to the reference data, a clearance given or lifted among them, forgets
them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date
from typing import Any

import msgspec

from pipeline.contract.models import (
    AeoRecord,
    Declaration,
    Party,
    PartyRole,
    PartyStatus,
    WatchlistEntry,
)
from pipeline.reference.aeo import AeoFinding, AeoRegistry, to_party_status
from pipeline.reference.clearances import Clearances, party_key
from pipeline.reference.consolidations import Consolidations
from pipeline.reference.partner_findings import PartnerFindings
from pipeline.reference.watchlist import Watchlist
from pipeline.screening.enrich import PartyFacts

__all__ = ["ReferenceData"]

_AEO_DECODER = msgspec.json.Decoder(AeoRecord)
_PARTY_KEY = msgspec.msgpack.Encoder()
# Enough for every active trader of a large port; the memo starts afresh when it is full.
MEMO_LIMIT = 200_000
_WATCHLIST_DECODER = msgspec.json.Decoder(WatchlistEntry)


class ReferenceData:
    def __init__(
        self,
        registry: AeoRegistry,
        watchlist: Watchlist,
        clearances: Clearances | None = None,
        consolidations: Consolidations | None = None,
        partner_findings: PartnerFindings | None = None,
    ) -> None:
        self.registry = registry
        self.watchlist = watchlist
        self.clearances = Clearances() if clearances is None else clearances
        # Kept apart from the memo: houses change with every filing, parties seldom.
        self.consolidations = Consolidations() if consolidations is None else consolidations
        # Per consignment, like the houses; filled by each partner's PartnerInbound.
        self.partner_findings = PartnerFindings() if partner_findings is None else partner_findings
        self._lock = threading.Lock()
        # Key: the party, the submitted date as filed (AEO validity) and in UTC (clearances).
        self._memo: dict[tuple[bytes, date, date], tuple[PartyFacts, AeoFinding]] = {}

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

    def partner_aeo(self, partner: str) -> Callable[[bytes | None, bytes | None], None]:
        """Applies the records of ``partner``'s shared AEO registry (a mirror's callback)."""

        def apply(key: bytes | None, value: bytes | None) -> None:
            if value is None:
                if key is not None:
                    with self._lock:
                        self.registry.delete_partner(partner, key.decode("utf-8", "replace"))
                        self._memo.clear()
                return
            record = _AEO_DECODER.decode(value)
            with self._lock:
                self.registry.put_partner(partner, record)
                self._memo.clear()

        return apply

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

    def apply_clearance(self, key: bytes | None, value: bytes | None) -> None:
        """A clearance of a false watch-list match, or a tombstone that lifts it."""
        with self._lock:
            # Lock order: this lock, then the clearances' own, as in a lookup.
            self.clearances.apply(key, value)
            self._memo.clear()

    # --- lookups, for the rules (PartyLookup) ----------------------------------------------

    def lookup(
        self, declaration: Declaration, role: PartyRole, party: Party
    ) -> tuple[PartyFacts, PartyStatus]:
        submitted = declaration.submitted_at
        on = submitted.date()
        # Decoded "Z" and "+00:00" are the UTC singleton: no conversion on the usual path.
        on_utc = on if submitted.tzinfo is UTC else submitted.astimezone(UTC).date()
        key = (_PARTY_KEY.encode(party), on, on_utc)
        with self._lock:
            found = self._memo.get(key)
            if found is None:
                found = self._look_up(party, on, on_utc)
                if len(self._memo) >= MEMO_LIMIT:
                    self._memo.clear()
                self._memo[key] = found
        facts, aeo = found
        return facts, to_party_status(role, aeo)

    def vessel(self, declaration: Declaration) -> Mapping[str, Any]:
        """Watch-list facts for the declaration's vessel, by its IMO number (contract v1.1)."""
        transport = declaration.transport
        vessel = transport.vessel if transport else None
        if vessel is None or not vessel.imo:
            return {}
        with self._lock:
            findings = self.watchlist.match_vessel(vessel.imo)
        if not findings:
            return {}
        worst = findings[0]
        return {
            "watchlist_action": worst.action,
            "watchlist_list": worst.list,
            "watchlist_entry": worst.entry_id,
        }

    def consolidation(self, declaration: Declaration) -> Mapping[str, Any]:
        """The other house filings of the declaration's master (contract v1.1)."""
        return self.consolidations.facts(declaration)

    def partner_finding(self, declaration: Declaration) -> Mapping[str, Any]:
        """The partners' risk findings on the declaration's consignment (contract v1.1)."""
        return self.partner_findings.facts(declaration)

    def _look_up(self, party: Party, on: date, on_utc: date) -> tuple[PartyFacts, AeoFinding]:
        aeo = self.registry.lookup(party, on)
        findings = self.watchlist.match(party)
        if findings and len(self.clearances):
            cleared = self.clearances.cleared_entries(party_key(party), on_utc)
            if cleared:
                findings = [f for f in findings if f.entry_id not in cleared]
        if not findings:
            return PartyFacts(aeo.status, aeo.aeo_type, aeo.security), aeo
        worst = findings[0]  # most severe action first, then the best score
        facts = PartyFacts(
            aeo.status,
            aeo.aeo_type,
            aeo.security,
            watchlist_action=worst.action,
            watchlist_list=worst.list,
            watchlist_entry=worst.entry_id,
            watchlist_match=worst.how,
            watchlist_score=worst.score,
        )
        return facts, aeo
