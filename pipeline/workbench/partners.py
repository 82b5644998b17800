"""Customs-to-Customs in the workbench: what sending, receiving and the case page share.

Under the SAFE Framework the exporting administration examines outbound cargo at the
reasonable request of the importing one, and the results come back. Requests and results we
send are in ``partner_outbound``, a partner's messages applied in ``partner_inbound``, the case
page's panel in ``partner_panel``; this module holds the exchange's settings, its errors, and
the storage every one of them uses: each message kept once in ``partner_messages`` and, when
it leaves, published through the outbox in the transaction of the change it reports.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
import orjson
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from pipeline import topics
from pipeline.c2c.agreements import Agreements, AgreementsInvalid, load_agreements
from pipeline.c2c.categories import rule_tags
from pipeline.c2c.outbound import (
    message_key,
)
from pipeline.contract.models import (
    Declaration,
    Equipment,
    Hit,
    PartnerMessage,
    Transport,
    TransportDocument,
)
from pipeline.errors import ScreeningError
from pipeline.rules.loader import load_ruleset
from pipeline.settings import Settings
from pipeline.workbench import audit

__all__ = ["Exchange", "PartnerRefused", "filing_of_request", "is_inbound_topic"]

log = logging.getLogger(__name__)

# MirrorMaker 2 names a partner's topic `<alias>.customs.c2c.outbound.v1`; subscribing by
# pattern picks up a new partner's topic once it exists, without a restart.
INBOUND_SUFFIX = "." + topics.C2C_OUTBOUND


INBOUND_PATTERN = r"^[a-z0-9-]+\.customs\.c2c\.outbound\.v1$"


PARTNER_REQUEST = "PARTNER_REQUEST"


MAX_REASON = 2000


_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")


_T = TypeVar("_T")


class PartnerRefused(ScreeningError):
    """Nothing was sent to the partner administration; the message says why."""

    status_code = 400


class PartnerCaseNotFound(PartnerRefused):
    status_code = 404


class PartnerConflict(PartnerRefused):
    """The case changed meanwhile, or the request was already sent: look at the case again."""

    status_code = 409


@dataclass(frozen=True)
class Exchange:
    """What the workbench shares under: the agreements, our country and the rules' tags."""

    agreements: Agreements
    home: str
    tags_by_rule: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Exchange:
        """Load the agreements and the rule files' tags. Without an agreements folder, or with
        agreements that do not validate, nothing is shared (and the log says why)."""
        agreements = Agreements(())
        if settings.partners.agreements_dir.is_dir():
            try:
                agreements = load_agreements(settings.partners.agreements_dir)
            except AgreementsInvalid as exc:
                log.error("no partner exchange: %s", exc)
        tags: Mapping[str, Sequence[str]] = {}
        try:
            tags = rule_tags(load_ruleset(settings.scoring.rules_dir).rules)
        except (ScreeningError, OSError) as exc:
            # Every rule then counts as SECURITY, the category of a rule without tags.
            log.warning("rule tags unavailable for partner categories: %s", exc)
        return cls(agreements=agreements, home=settings.partners.administration, tags_by_rule=tags)

    def now(self) -> datetime:
        return datetime.now(UTC)


def is_inbound_topic(topic: str | None) -> bool:
    return topic is not None and re.match(INBOUND_PATTERN, topic) is not None


def filing_of_request(request: PartnerMessage) -> Declaration:
    """The consignment as the partner's request describes it, standing in for a filing of ours:
    bound for the requesting partner, under its reference."""
    reference = _ID_CHARACTERS.sub("-", request.declaration_ref)[:64] or "PARTNER-REQUEST"
    return Declaration(
        declaration_id=reference,
        version=1,
        message_type="FILING",
        submitted_at=request.sent_at,
        transport=Transport(routing_countries=[request.from_administration]),
        transport_document=(
            TransportDocument(number=request.transport_document_number)
            if request.transport_document_number
            else None
        ),
        equipment=[Equipment(container_id=c, seals=[]) for c in request.container_ids or []],
        ucr=request.ucr,
    )


# The same consignment: the same UCR, transport document or any container (parameters
# `ucr`, `document` and `containers`), in `cases` or in `partner_messages`.
SAME_CONSIGNMENT = (
    "(((%(ucr)s)::text IS NOT NULL AND ucr = %(ucr)s)"
    " OR ((%(document)s)::text IS NOT NULL AND transport_document = %(document)s)"
    " OR container_ids && (%(containers)s)::text[])"
)


def consignment(case: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ucr": case.get("ucr"),
        "document": case.get("transport_document"),
        "containers": list(case.get("container_ids") or []),
    }


def consignment_of(message: PartnerMessage) -> dict[str, Any]:
    return {
        "ucr": message.ucr,
        "document": message.transport_document_number,
        "containers": [c.upper() for c in message.container_ids or []],
    }


def referral_of(
    conn: psycopg.Connection[Any], case: Mapping[str, Any]
) -> tuple[Hit | None, Declaration | None]:
    """The hit and the filing of the case's version, decoded; None for what is missing or no
    longer decodes."""
    row = conn.execute(
        "SELECT hit, declaration FROM referrals WHERE declaration_id = %s AND version = %s",
        (case["declaration_id"], case["version"]),
    ).fetchone()
    if row is None:
        return None, None
    hit = _decoded(row[0], Hit)
    filing = _decoded(row[1], Declaration) if row[1] is not None else None
    return hit, filing


def _decoded(document: Any, kind: type[_T]) -> _T | None:
    try:
        return msgspec.json.decode(orjson.dumps(document), type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError, TypeError):
        return None


def locked_case(conn: psycopg.Connection[Any], case_id: int) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        case = cur.execute(
            "SELECT * FROM cases WHERE case_id = %s FOR UPDATE", (case_id,)
        ).fetchone()
    if case is None:
        raise PartnerCaseNotFound(f"there is no case {case_id}")
    return case


def store(
    conn: psycopg.Connection[Any],
    message: PartnerMessage,
    direction: str,
    partner: str,
    case_id: int | None = None,
    actor: str = audit.SYSTEM,
) -> bool:
    """Keep the message; False when one with its id was already kept (a repeat)."""
    row = conn.execute(
        "INSERT INTO partner_messages (message_id, direction, kind, partner, ucr,"
        " transport_document, container_ids, in_reply_to, payload, case_id, actor)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (direction, message_id) DO NOTHING RETURNING partner_message_id",
        (
            message.message_id,
            direction,
            message.kind,
            partner,
            message.ucr,
            message.transport_document_number,
            [c.upper() for c in message.container_ids or []],
            message.in_reply_to,
            Jsonb(msgspec.to_builtins(message)),
            case_id,
            actor,
        ),
    ).fetchone()
    return row is not None


def link_message(conn: psycopg.Connection[Any], message: PartnerMessage, case_id: int) -> None:
    conn.execute(
        "UPDATE partner_messages SET case_id = %s WHERE direction = 'IN' AND message_id = %s",
        (case_id, message.message_id),
    )


def publish(conn: psycopg.Connection[Any], message: PartnerMessage) -> None:
    audit.enqueue(
        conn, topics.C2C_OUTBOUND, message_key(message).encode(), msgspec.json.encode(message)
    )
