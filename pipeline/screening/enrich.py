"""The enrichment stage: what reference data says of each declaration of a batch, as typed facts.

Screening goes decode → enrich → evaluate → assess. Enrichment looks up every party (AEO
registry, watch lists, clearances of false matches), the vessel by IMO number, the other house
filings of the declaration's master and partner administrations' findings on its consignment.
The rules' frames are built from what it found (``pipeline.rules.frames``), and so are the
Assessment's party statuses and the AEO relief.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, Protocol, get_args, runtime_checkable

from pipeline.contract.models import Declaration, Party, PartyRole, PartyStatus

__all__ = [
    "AEO_RELIEF_ROLES",
    "PARTY_ROLES",
    "Enriched",
    "EnrichedParty",
    "Enricher",
    "NoReferenceData",
    "PartyFacts",
    "PartyLookup",
    "parties_of",
]

# The roles in the order the parties are looked up and framed.
PARTY_ROLES: tuple[PartyRole, ...] = get_args(PartyRole)
# Parties whose verified security AEO status lowers a consignment's score.
AEO_RELIEF_ROLES: frozenset[PartyRole] = frozenset({"consignor", "consignee"})


@dataclass(frozen=True, slots=True)
class PartyFacts:
    """What reference data says of one party: the rules' reference party facts."""

    aeo_status: str = "NONE"
    aeo_type: str | None = None
    aeo_security: bool = False
    watchlist_action: str | None = None
    watchlist_list: str | None = None
    watchlist_entry: str | None = None
    watchlist_match: str | None = None
    watchlist_score: float | None = None

    @classmethod
    def stated(cls, facts: Mapping[str, Any]) -> PartyFacts:
        """From facts stated by name, as rule test cases state them; other names are not
        party facts and are left out."""
        return cls(**{name: value for name, value in facts.items() if name in _FACT_NAMES})


_FACT_NAMES = frozenset(f.name for f in fields(PartyFacts))


@dataclass(frozen=True, slots=True)
class EnrichedParty:
    role: PartyRole
    party: Party
    facts: PartyFacts
    status: PartyStatus  # the Assessment's ``parties`` item


# Declaration facts found in reference data, by the rules' field names: the vessel's watch-list
# finding, the master's other house filings, partners' findings on the consignment.
DeclarationFacts = Mapping[str, Any]
_NONE: DeclarationFacts = MappingProxyType({})  # read only: shared by every declaration


@dataclass(frozen=True, slots=True)
class Enriched:
    """A declaration with what reference data says of it."""

    declaration: Declaration
    parties: tuple[EnrichedParty, ...]
    vessel: DeclarationFacts
    master: DeclarationFacts
    partner_finding: DeclarationFacts

    @property
    def statuses(self) -> list[PartyStatus]:
        return [p.status for p in self.parties]

    @property
    def aeo_relief(self) -> bool:
        """A consignor or consignee is a verified security AEO."""
        return any(p.role in AEO_RELIEF_ROLES and p.facts.aeo_security for p in self.parties)


class PartyLookup(Protocol):
    """Reference data for one party: facts for the rules, and the status for the Assessment."""

    def lookup(
        self, declaration: Declaration, role: PartyRole, party: Party
    ) -> tuple[PartyFacts, PartyStatus]: ...


@runtime_checkable
class VesselLookup(Protocol):
    """Reference data for the declaration's vessel (contract v1.1): watch-list facts by IMO."""

    def vessel(self, declaration: Declaration) -> DeclarationFacts: ...


@runtime_checkable
class ConsolidationLookup(Protocol):
    """The other house filings of a house filing's master (contract v1.1)."""

    def consolidation(self, declaration: Declaration) -> DeclarationFacts: ...


@runtime_checkable
class PartnerFindingLookup(Protocol):
    """Partner administrations' risk findings on the declaration's consignment (v1.1)."""

    def partner_finding(self, declaration: Declaration) -> DeclarationFacts: ...


class NoReferenceData:
    """Facts when no reference data is loaded: nothing verified, nothing matched."""

    def lookup(
        self, declaration: Declaration, role: PartyRole, party: Party
    ) -> tuple[PartyFacts, PartyStatus]:
        claimed = next((i.value for i in party.ids if i.scheme == "AEO"), None)
        status = "UNVERIFIED" if claimed else "NONE"
        return PartyFacts(aeo_status=status), PartyStatus(role, claimed, None, status, None)


def parties_of(declaration: Declaration) -> list[tuple[PartyRole, Party]]:
    d = declaration
    present: dict[PartyRole, Party | None] = {
        "declarant": d.declarant,
        "consignor": d.consignor,
        "consignee": d.consignee,
        "carrier": d.transport.carrier if d.transport else None,
        "notify_party": d.notify_party,
    }
    return [(role, party) for role in PARTY_ROLES if (party := present[role]) is not None]


class Enricher:
    """Looks a batch up in ``reference`` (all of it that the reference data implements)."""

    def __init__(self, reference: PartyLookup | None = None) -> None:
        self._parties: PartyLookup = reference or NoReferenceData()
        self._vessels = reference if isinstance(reference, VesselLookup) else None
        self._houses = reference if isinstance(reference, ConsolidationLookup) else None
        self._partners = reference if isinstance(reference, PartnerFindingLookup) else None

    def enrich(
        self, declarations: Sequence[Declaration], partner_findings: bool = True
    ) -> list[Enriched]:
        """``partner_findings``: look those up too (only worth it when a rule reads them)."""
        partners = self._partners if partner_findings else None
        return [self._enrich(d, partners) for d in declarations]

    def _enrich(self, d: Declaration, partners: PartnerFindingLookup | None) -> Enriched:
        lookup = self._parties.lookup
        parties = tuple(
            EnrichedParty(role, party, *lookup(d, role, party)) for role, party in parties_of(d)
        )
        transport, document = d.transport, d.transport_document
        vessel = transport.vessel if transport else None
        # Most declarations name no vessel and no master: only those with one are looked up.
        return Enriched(
            d,
            parties,
            self._vessels.vessel(d) if self._vessels and vessel and vessel.imo else _NONE,
            self._houses.consolidation(d)
            if self._houses and document and document.master_number
            else _NONE,
            partners.partner_finding(d) if partners else _NONE,
        )
