"""Risk findings from partner administrations, as facts about the filings they concern.

A partner's RISK_FINDING (contract v1.1 PartnerMessage) names a consignment by its UCR, its
containers and its transport document. Every worker keeps every finding of its partners
(``TopicMirror`` of each partner's inbound topic) indexed by each of these, normalised as
identifiers are (``MSCU 663987-0`` is MSCU6639870), so that a filing screened on any partition
finds it; and for ``window`` from the finding's ``sent_at``, so that a finding sent before the
filing arrives is applied when it does. A declaration is looked up by its ``ucr``, the
container ids of its equipment and goods, and its transport document's number and master
number; a UCR matches only a UCR, a container a container, a document a document.

What the rules see (DECLARATION scope): the most severe finding's level, partner and how it
matched (``UCR`` before ``TRANSPORT_DOCUMENT`` before ``CONTAINER``, then the newest), and the
categories of every finding that matched.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline.contract.models import Declaration, PartnerMessage
from pipeline.reference.normalise import normalise_id

__all__ = ["PartnerFindings", "finding_of"]

UCR = "UCR"
TRANSPORT_DOCUMENT = "TRANSPORT_DOCUMENT"
CONTAINER = "CONTAINER"
# How a match is reported when a finding matches a filing more than one way: the most precise.
_PRECISION = {UCR: 3, TRANSPORT_DOCUMENT: 2, CONTAINER: 1}
_SEVERITY = {"HIGH": 2, "MEDIUM": 1}
# The facts, as pipeline/rules/fields.py declares them.
FACT_NAMES = (
    "partner_finding_level",
    "partner_finding_partner",
    "partner_finding_matched_by",
    "partner_finding_categories",
)
# Findings past their window are dropped after this many more have come in.
_PRUNE_EVERY = 1024


@dataclass(frozen=True, slots=True)
class PartnerFinding:
    message_id: str
    partner: str  # ISO 3166-1 alpha-2 of the sending administration
    level: str  # HIGH or MEDIUM
    categories: tuple[str, ...]
    sent_at: datetime
    keys: tuple[tuple[str, str], ...]  # (how it matches, normalised identifier)


def finding_of(message: PartnerMessage, partner: str) -> PartnerFinding:
    """The finding a checked RISK_FINDING carries, from the agreement's partner."""
    keys = list(_keys(UCR, [message.ucr]))
    keys.extend(_keys(CONTAINER, message.container_ids or []))
    keys.extend(_keys(TRANSPORT_DOCUMENT, [message.transport_document_number]))
    return PartnerFinding(
        message_id=message.message_id,
        partner=partner,
        level=message.level or "MEDIUM",
        categories=tuple(dict.fromkeys(message.categories)),
        sent_at=message.sent_at,
        keys=tuple(dict.fromkeys(keys)),
    )


def declaration_keys(declaration: Declaration) -> list[tuple[str, str]]:
    """What a declaration is looked up by: its UCR, containers and transport documents."""
    containers = [e.container_id for e in declaration.equipment]
    for item in declaration.goods or []:
        containers.extend(item.container_ids)
    document = declaration.transport_document
    documents = [document.number, document.master_number] if document else []
    keys = list(_keys(UCR, [declaration.ucr]))
    keys.extend(_keys(CONTAINER, containers))
    keys.extend(_keys(TRANSPORT_DOCUMENT, documents))
    return list(dict.fromkeys(keys))


def _keys(how: str, values: Iterable[str | None]) -> Iterator[tuple[str, str]]:
    for value in values:
        key = normalise_id(value) if value else ""
        if key:  # an identifier of punctuation only names nothing
            yield how, key


class PartnerFindings:
    """Partners' findings by identifier, for ``window`` from when each was sent."""

    def __init__(self, window: timedelta = timedelta(days=30)) -> None:
        self.window = window
        self._lock = threading.Lock()
        self._by_id: dict[str, PartnerFinding] = {}  # by partner and message_id
        self._by_key: dict[tuple[str, str], dict[str, PartnerFinding]] = {}
        self._added = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_id)

    def add(self, finding: PartnerFinding, now: datetime) -> None:
        """Add a finding, or replace the one with the same message_id (a message sent again).
        Findings whose window ended before ``now`` are dropped from time to time."""
        ident = f"{finding.partner}/{finding.message_id}"
        with self._lock:
            self._remove(ident)
            if finding.sent_at + self.window < now:
                return  # past its window already: a message read again at start
            self._by_id[ident] = finding
            for key in finding.keys:
                self._by_key.setdefault(key, {})[ident] = finding
            self._added += 1
            if self._added % _PRUNE_EVERY == 0:
                self._prune(now)

    def _remove(self, ident: str) -> None:
        old = self._by_id.pop(ident, None)
        if old is None:
            return
        for key in old.keys:
            found = self._by_key.get(key)
            if found is not None:
                found.pop(ident, None)
                if not found:
                    del self._by_key[key]

    def _prune(self, now: datetime) -> None:
        for ident in [i for i, f in self._by_id.items() if f.sent_at + self.window < now]:
            self._remove(ident)

    def matches(self, declaration: Declaration) -> list[tuple[PartnerFinding, str]]:
        """The findings in force when the declaration was submitted that name one of its
        identifiers, each with how it matched (the most precise way), most severe first."""
        if not self._by_key:
            return []
        submitted = declaration.submitted_at
        found: dict[str, tuple[PartnerFinding, str]] = {}
        with self._lock:
            for key in declaration_keys(declaration):
                for ident, finding in self._by_key.get(key, {}).items():
                    if submitted - finding.sent_at > self.window:
                        continue
                    how = key[0]
                    known = found.get(ident)
                    if known is None or _PRECISION[how] > _PRECISION[known[1]]:
                        found[ident] = (finding, how)
        return sorted(
            found.values(),
            key=lambda m: (-_SEVERITY[m[0].level], -_PRECISION[m[1]], -m[0].sent_at.timestamp()),
        )

    def facts(self, declaration: Declaration) -> Mapping[str, Any]:
        matched = self.matches(declaration)
        if not matched:
            return {}
        worst, how = matched[0]
        categories = dict.fromkeys(c for finding, _ in matched for c in finding.categories)
        return {
            "partner_finding_level": worst.level,
            "partner_finding_partner": worst.partner,
            "partner_finding_matched_by": how,
            "partner_finding_categories": list(categories) or None,
        }
