"""What a case needs from a hit: the worklist's columns and the parties, read once on arrival.

Pure functions over the hit as the worker wrote it (``Hit`` with the filing embedded), so the
ingest path is testable without Kafka or PostgreSQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
import orjson

from pipeline.contract.models import Party
from pipeline.reference.clearances import party_key
from pipeline.reference.consolidations import master_key

ROLES = ("declarant", "consignor", "consignee", "carrier", "notify_party")
_PARTY = msgspec.convert


@dataclass(frozen=True)
class CaseParty:
    role: str
    party_key: str
    name: str
    country: str | None
    ids: list[str]


@dataclass(frozen=True)
class Referral:
    """One referral version, ready to be written: the case's columns and the raw documents."""

    declaration_id: str
    version: int
    outcome: str
    priority: int
    score: float
    summary: str
    assessed_at: datetime
    mode: str | None
    office: str | None
    loading_location: str | None
    estimated_loading_at: datetime | None
    transport_document: str | None
    container_ids: list[str]
    rule_ids: list[str]
    parties: list[CaseParty]
    hit: dict[str, Any]  # the hit without the filing
    declaration: dict[str, Any] | None
    party_names: str = field(default="")
    declaration_json: str | None = None  # the filing's text as received, when known
    filer_id: str | None = None  # who filed it: the filing's filer_id, else the declarant's id
    master_number: str | None = None  # a house filing's master, as ``master_key`` compares it
    ucr: str | None = None  # links the consignment with partner administrations' messages


_TOP_LEVEL = msgspec.json.Decoder(dict[str, msgspec.Raw])


@dataclass(frozen=True)
class DecodedHit:
    """A hit record read apart: the worker's fields, and the filing as the filer sent it."""

    hit: dict[str, Any]
    declaration: dict[str, Any] | None
    declaration_json: str | None  # the filing's own text, stored without re-encoding


def decode_hit(value: bytes) -> DecodedHit:
    """Decode a hit record. The worker writes its own fields, but the embedded filing is the
    filer's JSON: it may hold numbers no double holds (``1e400``) or integers of hundreds of
    digits, in fields the contract does not name. Its text is kept as it came, and read with
    the standard library, which takes such numbers. Raises ``ValueError`` when the record is
    not a hit."""
    try:
        parts = _TOP_LEVEL.decode(value)
    except msgspec.DecodeError as exc:
        raise ValueError(f"not a JSON object: {exc}") from exc
    raw = parts.pop("declaration", None)
    hit = {key: orjson.loads(memoryview(part)) for key, part in parts.items()}
    if raw is None or bytes(raw).strip() == b"null":
        return DecodedHit(hit, None, None)
    text = bytes(raw).decode("utf-8")
    declaration = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    if not isinstance(declaration, dict):
        raise ValueError("declaration is not an object")
    return DecodedHit(hit, declaration, text)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def referral_from_hit(
    hit: dict[str, Any],
    declaration: dict[str, Any] | None = None,
    declaration_json: str | None = None,
) -> Referral:
    """Read a decoded hit (its filing given apart, or inside it). Raises ``ValueError`` (or
    ``KeyError``/``TypeError``) when the record is not a hit: the caller sets such a record
    aside and goes on."""
    if declaration is None:
        declaration = hit.get("declaration")
    if declaration is not None and not isinstance(declaration, dict):
        raise ValueError("declaration is not an object")
    filing: dict[str, Any] = declaration or {}
    transport = _object(filing.get("transport"))
    document = _object(filing.get("transport_document"))
    containers = {
        str(e["container_id"]).upper()
        for e in filing.get("equipment") or []
        if isinstance(e, dict) and e.get("container_id")
    }
    for item in filing.get("goods") or []:
        if isinstance(item, dict):
            containers.update(str(c).upper() for c in item.get("container_ids") or [])
    parties = _parties(filing)
    slim = {k: v for k, v in hit.items() if k != "declaration"}
    return Referral(
        declaration_id=str(hit["declaration_id"]),
        version=int(hit["version"]),
        outcome=str(hit["outcome"]),
        priority=int(hit["priority"]),
        score=float(hit["score"]),
        summary=clean(str(hit.get("summary") or "")),
        assessed_at=_timestamp(hit["assessed_at"]),
        mode=_text(transport.get("mode")),
        office=_text(transport.get("discharge_location")),
        loading_location=_text(transport.get("loading_location")),
        estimated_loading_at=_optional_timestamp(transport.get("estimated_loading_at")),
        transport_document=_text(document.get("number")),
        container_ids=sorted(clean(c) for c in containers),
        rule_ids=sorted({clean(str(m["rule_id"])) for m in hit.get("matches") or []}),
        parties=parties,
        hit=slim,
        declaration=declaration,
        declaration_json=declaration_json,
        filer_id=_filer(filing),
        master_number=master_of(filing),
        ucr=_text(filing.get("ucr")),
        party_names=clean(" | ".join(p.name.upper() for p in parties)),
    )


def _parties(filing: dict[str, Any]) -> list[CaseParty]:
    found = []
    transport = _object(filing.get("transport"))
    for role in ROLES:
        raw = transport.get("carrier") if role == "carrier" else filing.get(role)
        if not isinstance(raw, dict) or not raw.get("name"):
            continue
        try:
            party = _PARTY(raw, Party)
        except msgspec.ValidationError:
            continue  # the worker accepted the filing, so this is not expected; skip the role
        country = party.address.country if party.address else None
        ids = [clean(f"{i.scheme}:{i.value}") for i in party.ids]
        found.append(CaseParty(role, party_key(party), clean(party.name), country, ids))
    return found


def _filer(filing: dict[str, Any]) -> str | None:
    """The contract's addressee of notices: ``filer_id``, else the declarant's first id."""
    if isinstance(filing.get("filer_id"), str) and filing["filer_id"]:
        return clean(filing["filer_id"])
    ids = _object(filing.get("declarant")).get("ids")
    if isinstance(ids, list) and ids and isinstance(ids[0], dict) and ids[0].get("value"):
        return clean(str(ids[0]["value"]))
    return None


def filed_master(filing: dict[str, Any]) -> str | None:
    """A house filing's master document number as filed; None when it names none, or only
    spaces and punctuation (which link nothing)."""
    number = _object(filing.get("transport_document")).get("master_number")
    return clean(number) if isinstance(number, str) and master_key(number) else None


def master_of(filing: dict[str, Any]) -> str | None:
    """The master's number as the worker links houses by it: ``medu-123`` is MEDU123."""
    number = filed_master(filing)
    return master_key(number) if number else None


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return clean(str(value)) if value not in (None, "") else None


def clean(text: str) -> str:
    """PostgreSQL's text holds no NUL character, which JSON allows in a string."""
    return text.replace("\x00", "")


def _timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("timestamp is not a string")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _optional_timestamp(value: object) -> datetime | None:
    try:
        return _timestamp(value) if value else None
    except ValueError:
        return None
