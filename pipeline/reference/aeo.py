"""The AEO registry: which parties are Authorised Economic Operators, and of what kind.

Records come from the home programme (``mra_partner`` null) and from partner programmes
recognised under a mutual recognition agreement. A party is looked up by every identifier it
files, whatever the scheme it files it under: the number is the credential, and filers often
label it wrongly (an AEO certificate number given as an EORI). The record's own ``scheme``
says what kind of number it is. Each identifier costs one dict look-up.

A partner's own registry, shared under a mutual recognition agreement and replicated by
MirrorMaker 2, is kept apart (``put_partner``): its records count as that partner's whatever
their ``mra_partner`` says, and its tombstones delete only its own records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal

import msgspec

from pipeline.contract.models import AeoRecord, Party, PartyRole, PartyStatus
from pipeline.reference.normalise import normalise_id

__all__ = ["DEFAULT_MRA_PARTNERS", "AeoFinding", "AeoRegistry", "to_party_status"]

AeoStatus = Literal["ACTIVE", "SUSPENDED", "REVOKED", "EXPIRED", "UNVERIFIED", "NONE"]

# The EU's mutual recognition partners: Norway, Switzerland, Japan, Moldova, the United States,
# China and the United Kingdom.
DEFAULT_MRA_PARTNERS: frozenset[str] = frozenset({"NO", "CH", "JP", "MD", "US", "CN", "GB"})

# Home types that cover security and safety; a partner's programme is a security programme
# (that is all mutual recognition covers) unless it says it is customs simplification only.
_HOME_SECURITY_TYPES = frozenset({"AEOS", "AEOF"})
_CUSTOMS_ONLY_TYPE = "AEOC"

# When a party's identifiers hit several records: a current certificate outranks a lapsed or
# withdrawn one that the same company may still have on file.
_PRECEDENCE: dict[str, int] = {"ACTIVE": 3, "SUSPENDED": 2, "REVOKED": 1, "EXPIRED": 0}


@dataclass(frozen=True, slots=True)
class AeoFinding:
    """What the registry says about one party."""

    operator_id: str | None
    aeo_type: str | None
    status: AeoStatus
    source: str | None  # REGISTRY, or MRA:<partner country>
    security: bool  # an active security AEO recognised here
    claimed: bool  # the party filed an identifier with scheme AEO


NO_FINDING = AeoFinding(None, None, "NONE", None, security=False, claimed=False)


class AeoRegistry:
    """AEO records by operator id, kept up to date with ``put`` and ``delete``."""

    def __init__(self, mra_partners: Iterable[str] = DEFAULT_MRA_PARTNERS) -> None:
        self.mra_partners = frozenset(mra_partners)
        self._records: dict[str, AeoRecord] = {}
        # Partners' shared registries: operator id -> partner -> record.
        self._shared: dict[str, dict[str, AeoRecord]] = {}

    def __len__(self) -> int:
        """The records of the home topic (partners' shared records: ``shared_count``)."""
        return len(self._records)

    @property
    def shared_count(self) -> int:
        return sum(len(by_partner) for by_partner in self._shared.values())

    def __contains__(self, operator_id: object) -> bool:
        if not isinstance(operator_id, str):
            return False
        key = normalise_id(operator_id)
        return key in self._records or key in self._shared

    def put(self, record: AeoRecord) -> None:
        """Add a record, or replace the one with the same operator id."""
        self._records[normalise_id(record.operator_id)] = record

    def delete(self, operator_id: str) -> None:
        """Remove a record; an unknown id is ignored, as a repeated tombstone must be."""
        self._records.pop(normalise_id(operator_id), None)

    def get(self, operator_id: str) -> AeoRecord | None:
        return self._records.get(normalise_id(operator_id))

    def put_partner(self, partner: str, record: AeoRecord) -> None:
        """A record of ``partner``'s shared registry: an MRA record of that partner."""
        if record.mra_partner != partner:
            record = msgspec.structs.replace(record, mra_partner=partner)
        self._shared.setdefault(normalise_id(record.operator_id), {})[partner] = record

    def delete_partner(self, partner: str, operator_id: str) -> None:
        key = normalise_id(operator_id)
        by_partner = self._shared.get(key)
        if by_partner is not None:
            by_partner.pop(partner, None)
            if not by_partner:
                del self._shared[key]

    def _candidates(self, key: str) -> Iterator[AeoRecord]:
        record = self._records.get(key)
        if record is not None:
            yield record
        shared = self._shared.get(key)
        if shared:
            yield from shared.values()

    def lookup(self, party: Party, on: date) -> AeoFinding:
        """The party's AEO standing on a date (the declaration's), from all its identifiers."""
        claimed = [i.value for i in party.ids if i.scheme == "AEO"]
        best: tuple[tuple[int, int], AeoFinding] | None = None
        for party_id in party.ids:
            for record in self._candidates(normalise_id(party_id.value)):
                finding = self._finding(record, on, claimed=bool(claimed))
                rank = (int(finding.security), _PRECEDENCE[finding.status])
                if best is None or rank > best[0]:
                    best = (rank, finding)
        if best is not None:
            return best[1]
        if claimed:
            # An AEO number that no programme knows: the claim cannot be verified.
            return AeoFinding(claimed[0], None, "UNVERIFIED", None, security=False, claimed=True)
        return NO_FINDING

    def _finding(self, record: AeoRecord, on: date, claimed: bool) -> AeoFinding:
        status = _status_on(record, on)
        partner = record.mra_partner
        if partner is None:
            source = "REGISTRY"
            security_type = record.aeo_type in _HOME_SECURITY_TYPES
        else:
            source = f"MRA:{partner}"
            security_type = partner in self.mra_partners and record.aeo_type != _CUSTOMS_ONLY_TYPE
        return AeoFinding(
            operator_id=record.operator_id,
            aeo_type=record.aeo_type,
            status=status,
            source=source,
            security=status == "ACTIVE" and security_type,
            claimed=claimed,
        )


def _status_on(record: AeoRecord, on: date) -> AeoStatus:
    if record.status != "ACTIVE":
        return record.status
    if record.valid_from is not None and on < record.valid_from:
        return "EXPIRED"
    if record.valid_to is not None and on > record.valid_to:
        return "EXPIRED"
    return "ACTIVE"


def to_party_status(role: PartyRole, finding: AeoFinding) -> PartyStatus:
    """The Assessment's ``parties`` item for one party role."""
    return PartyStatus(
        role=role,
        operator_id=finding.operator_id,
        aeo_type=finding.aeo_type,
        status=finding.status,
        source=finding.source,
    )
