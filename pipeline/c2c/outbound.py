"""What leaves for partner administrations: pure functions from our findings to PartnerMessages.

A message is built only for a partner the consignment concerns (goods loaded in, routed
through, originating in or discharged in its country), whose agreement is in force and allows
that kind of message at that level and in at least one of its categories. It carries only the
optional fields the agreement allows; its summary is written here from codes and locations,
never from a rule's reason, a score, a watch-list entry or an officer's note. The same
declaration version, partner and kind always give the same ``message_id``, so a replay is
recognised by the partner.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import cast

import msgspec

from pipeline.c2c.agreements import Agreement, Agreements, SendTerms
from pipeline.c2c.categories import categories_of
from pipeline.contract.models import (
    Assessment,
    Declaration,
    ExaminationOutcome,
    ExaminationResult,
    Hit,
    Match,
    PartnerLevel,
    PartnerMessage,
    PartnerMessageKind,
)

__all__ = [
    "MESSAGE_NAMESPACE",
    "countries_of",
    "declaration_of",
    "examination_request_message",
    "examination_result_message",
    "message_id",
    "message_key",
    "partners_concerned",
    "risk_findings",
]

# Fixed, so that every worker and every restart derives the same message ids.
MESSAGE_NAMESPACE = uuid.UUID("5b0f3d0e-6a8c-5d7e-9f21-c2c0c2c0c2c0")

_RESULT_WORDS = {
    "SEIZURE": "goods were seized",
    "IRREGULARITY": "an irregularity was found",
    "NO_FINDING": "nothing was found",
    "NOT_EXAMINED": "the consignment was not examined",
}


# The facts a partner's finding gives the rules (pipeline/reference/partner_findings.py).
PARTNER_FACT_PREFIX = "partner_finding_"
PARTNER_OF_FINDING = "partner_finding_partner"


def _from_partner(match: Match) -> bool:
    """Whether the match rests on a partner's finding: its evidence holds the partner facts."""
    return any(key.startswith(PARTNER_FACT_PREFIX) for key in match.evidence)


def message_id(declaration_ref: str, version: int, partner: str, kind: str) -> str:
    return str(uuid.uuid5(MESSAGE_NAMESPACE, f"{declaration_ref}/{version}/{partner}/{kind}"))


def message_key(message: PartnerMessage) -> str:
    """The record key on customs.c2c.outbound.v1: the UCR, else the declaration id."""
    return message.ucr or message.declaration_ref


def declaration_of(hit: Hit) -> Declaration | None:
    """The filing a hit carries, decoded; None for a hit published without it."""
    if isinstance(hit.declaration, msgspec.UnsetType):
        return None
    try:
        return msgspec.json.decode(hit.declaration, type=Declaration)
    except msgspec.ValidationError:
        return None


def countries_of(declaration: Declaration) -> frozenset[str]:
    """Every country the consignment comes from, passes through or is bound for."""
    countries: set[str] = set()
    transport = declaration.transport
    if transport is not None:
        for location in (transport.loading_location, transport.discharge_location):
            if location:
                countries.add(location[:2])
        countries.update(transport.routing_countries)
    for item in declaration.goods or ():
        if item.origin_country:
            countries.add(item.origin_country)
    return frozenset(countries)


def partners_concerned(
    declaration: Declaration, agreements: Agreements, home: str
) -> list[Agreement]:
    countries = countries_of(declaration) - {home}
    return [a for a in agreements if a.partner in countries]


def _concerns(declaration: Declaration, agreement: Agreement, home: str) -> bool:
    return agreement.partner != home and agreement.partner in countries_of(declaration)


def risk_findings(
    finding: Hit | Assessment,
    declaration: Declaration,
    agreements: Agreements,
    *,
    home: str,
    sent_at: datetime,
    tags_by_rule: Mapping[str, Sequence[str]],
) -> list[PartnerMessage]:
    """A RISK_FINDING for each partner concerned whose agreement allows it (DNL and HRCM only).

    A partner's own finding is not ours to pass on: a referral that no rule of ours supports
    (every match with points or a referral action comes from a partner's finding) sends
    nothing, its categories are ours only, and the partners whose findings it used are left
    out, so a finding never comes back to its sender as if it were a second opinion.
    """
    ours = [m for m in finding.matches if not _from_partner(m)]
    if not any(m.score > 0 or m.action in ("HRCM", "DNL") for m in ours):
        return []
    senders = {
        str(value)
        for m in finding.matches
        if _from_partner(m)
        for key, value in m.evidence.items()
        if key.endswith(PARTNER_OF_FINDING)
    }
    finding = msgspec.structs.replace(finding, matches=ours)
    messages = []
    for agreement in partners_concerned(declaration, agreements, home):
        if agreement.partner in senders:
            continue
        message = _graded(
            "RISK_FINDING", finding, declaration, agreement, home, sent_at, tags_by_rule
        )
        if message is not None:
            messages.append(message)
    return messages


def examination_request_message(
    finding: Hit | Assessment,
    declaration: Declaration,
    agreement: Agreement,
    *,
    home: str,
    sent_at: datetime,
    tags_by_rule: Mapping[str, Sequence[str]],
    in_reply_to: str | None = None,
) -> PartnerMessage | None:
    """An officer's request that the partner examine the consignment before loading, or None
    when the partner is not concerned or the agreement does not allow it."""
    if not _concerns(declaration, agreement, home):
        return None
    message = _graded(
        "EXAMINATION_REQUEST", finding, declaration, agreement, home, sent_at, tags_by_rule
    )
    if message is None or in_reply_to is None:
        return message
    return msgspec.structs.replace(message, in_reply_to=in_reply_to)


def examination_result_message(
    result: ExaminationResult,
    declaration: Declaration,
    agreement: Agreement,
    *,
    home: str,
    sent_at: datetime,
    in_reply_to: str | None = None,
) -> PartnerMessage | None:
    """The result of our examination of a consignment the partner is concerned by (answering
    its request when ``in_reply_to`` names it), or None when the agreement does not allow it."""
    terms = _terms("EXAMINATION_RESULT", agreement, sent_at)
    if terms is None or result.result not in terms.results:
        return None
    if result.declaration_id != declaration.declaration_id:
        raise ValueError("the examination result is about another declaration")
    if not _concerns(declaration, agreement, home):
        return None
    summary = (
        f"Examination of the consignment{_route(declaration)}: {_RESULT_WORDS[result.result]}."
    )
    return _message(
        "EXAMINATION_RESULT",
        declaration,
        result.version,
        agreement,
        terms,
        home=home,
        sent_at=sent_at,
        summary=summary,
        result=result.result,
        in_reply_to=in_reply_to,
    )


def _terms(kind: PartnerMessageKind, agreement: Agreement, sent_at: datetime) -> SendTerms | None:
    if not agreement.in_force(sent_at.date()):
        return None
    return agreement.terms(kind)


def _graded(
    kind: PartnerMessageKind,
    finding: Hit | Assessment,
    declaration: Declaration,
    agreement: Agreement,
    home: str,
    sent_at: datetime,
    tags_by_rule: Mapping[str, Sequence[str]],
) -> PartnerMessage | None:
    """A finding or a request: it has a level and categories, both within the agreement."""
    if isinstance(finding, Assessment) and finding.superseded_by is not None:
        return None  # a newer version was assessed first: this one is history
    if finding.declaration_id != declaration.declaration_id:
        raise ValueError("the finding is about another declaration")
    terms = _terms(kind, agreement, sent_at)
    level = agreement.levels_by_outcome.get(finding.outcome)
    if terms is None or level is None or level not in terms.levels:
        return None
    categories = [c for c in categories_of(finding.matches, tags_by_rule) if c in terms.categories]
    if not categories:
        return None
    return _message(
        kind,
        declaration,
        finding.version,
        agreement,
        terms,
        home=home,
        sent_at=sent_at,
        summary=_graded_summary(kind, level, categories, declaration),
        level=cast(PartnerLevel, level),  # checked against the agreement's levels
        categories=categories,
    )


def _message(
    kind: PartnerMessageKind,
    declaration: Declaration,
    version: int,
    agreement: Agreement,
    terms: SendTerms,
    *,
    home: str,
    sent_at: datetime,
    summary: str,
    level: PartnerLevel | None = None,
    categories: list[str] | None = None,
    result: ExaminationOutcome | None = None,
    in_reply_to: str | None = None,
) -> PartnerMessage:
    allowed = terms.fields
    document = declaration.transport_document
    containers = _containers(declaration)
    return PartnerMessage(
        message_id=message_id(declaration.declaration_id, version, agreement.partner, kind),
        kind=kind,
        from_administration=home,
        to_administration=agreement.partner,
        declaration_ref=declaration.declaration_id,
        handling=agreement.handling,
        sent_at=sent_at,
        ucr=declaration.ucr,
        transport_document_number=(
            document.number
            if "transport_document_number" in allowed and document is not None
            else None
        ),
        container_ids=containers if "container_ids" in allowed and containers else None,
        level=level,
        categories=categories or [],
        summary=summary if "summary" in allowed else None,
        result=result,
        in_reply_to=in_reply_to,
    )


def _containers(declaration: Declaration) -> list[str]:
    """Container numbers as filed, equipment first, each once."""
    found = [e.container_id for e in declaration.equipment]
    found += [c for item in declaration.goods or () for c in item.container_ids]
    return list(dict.fromkeys(found))


def _route(declaration: Declaration) -> str:
    transport = declaration.transport
    if transport is None:
        return ""
    loading, discharge = transport.loading_location, transport.discharge_location
    if loading and discharge:
        return f" loaded at {loading} for {discharge}"
    if loading:
        return f" loaded at {loading}"
    return f" bound for {discharge}" if discharge else ""


def _graded_summary(
    kind: PartnerMessageKind, level: str, categories: Iterable[str], declaration: Declaration
) -> str:
    concern = ", ".join(c.lower() for c in categories)
    if kind == "EXAMINATION_REQUEST":
        return (
            f"We request examination before loading of the consignment{_route(declaration)}: "
            f"{level.lower()} risk ({concern}). Please send us the result."
        )
    return (
        f"{level.capitalize()} risk ({concern}) assessed for the consignment"
        f"{_route(declaration)}, for your own risk assessment."
    )
