"""House filings linked by their master document (contract v1.1 ``master_number``).

A consolidator's house bills (HBL, HAWB) travel under one master bill. A referral on one house
says something about the others: they share the container or the flight, and often a
forwarder. Filings are keyed by declaration id, so the houses of one master are screened on
different partitions, often by different workers; each worker therefore publishes the outcome
of every house filing to the compacted ``customs.consolidations.v1``, keyed by declaration id
(an invalidation, which names no master, deletes its record), and every worker keeps a full
copy of it (``TopicMirror``), from which a house filing's facts are read: how many other houses
of its master are known, and which of them are referred.

A house screened before another house's referral reached the copy does not show it: the
officers' workbench links the cases of one master both ways.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from pipeline.contract.models import Declaration
from pipeline.reference.normalise import normalise_id

__all__ = [
    "ENCODER",
    "Consolidations",
    "HouseFiling",
    "LinkedHouses",
    "master_key",
    "master_number_of",
]

_SEVERITY = {"RFI": 1, "HRCM": 2, "DNL": 3}


class HouseFiling(msgspec.Struct, frozen=True):
    """One house filing's latest outcome, as a record of ``customs.consolidations.v1``."""

    master_number: str
    declaration_id: str
    version: int
    outcome: str


def master_key(master_number: str) -> str:
    """Master numbers compare without case, spaces or punctuation (``MEDU 123`` is MEDU123)."""
    return normalise_id(master_number)


def master_number_of(declaration: Declaration) -> str | None:
    document = declaration.transport_document
    number = document.master_number if document else None
    return number if number and master_key(number) else None


@dataclass(frozen=True, slots=True)
class LinkedHouses:
    """What a house filing's rules see of the other houses of its master."""

    count: int
    worst_outcome: str | None
    referred: tuple[str, ...]  # declaration ids, most severe first

    def facts(self) -> dict[str, Any]:
        return {
            "master_house_count": self.count,
            "master_referral_outcome": self.worst_outcome,
            "master_referred_declarations": ", ".join(self.referred) or None,
        }


_DECODER = msgspec.json.Decoder(HouseFiling)
ENCODER = msgspec.json.Encoder()


class Consolidations:
    """The houses of every master, kept current from the compacted topic."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Master key → declaration id → outcome of its latest version; and each house's master,
        # for a tombstone (keyed by declaration id only) or an amendment that moves the house.
        self._houses: dict[str, dict[str, str]] = {}
        self._master_of: dict[str, str] = {}

    def __len__(self) -> int:
        with self._lock:
            return sum(len(houses) for houses in self._houses.values())

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        declaration_id = key.decode("utf-8", "replace")
        filing = None if value is None else _DECODER.decode(value)
        with self._lock:
            self._forget(declaration_id)
            if filing is not None:
                master = master_key(filing.master_number)
                self._houses.setdefault(master, {})[declaration_id] = filing.outcome
                self._master_of[declaration_id] = master

    def _forget(self, declaration_id: str) -> None:
        master = self._master_of.pop(declaration_id, None)
        if master is None:
            return
        houses = self._houses[master]
        del houses[declaration_id]
        if not houses:
            del self._houses[master]

    def linked(self, master_number: str, declaration_id: str) -> LinkedHouses:
        with self._lock:
            houses = dict(self._houses.get(master_key(master_number), {}))
        houses.pop(declaration_id, None)
        referred = sorted(
            (d for d, outcome in houses.items() if outcome in _SEVERITY),
            key=lambda d: (-_SEVERITY[houses[d]], d),
        )
        worst = houses[referred[0]] if referred else None
        return LinkedHouses(len(houses), worst, tuple(referred))

    def facts(self, declaration: Declaration) -> Mapping[str, Any]:
        master = master_number_of(declaration)
        if master is None:
            return {}
        return self.linked(master, declaration.declaration_id).facts()
