"""The notices of a screened batch, built from the filing and the outcome alone.

Pure functions: the Screener calls them as it assesses each declaration version and produces
what they return in the same batch as the assessment. A notice is addressed to the filer:
``filer_id``, else the declarant's first id value; a message naming neither gets none.

Its ``notice_id`` is a UUID (version 5) of the declaration id, the version and the kind, so a
batch screened again after a crash sends notices with the ids of the first time; a REJECTED
notice's is of the rejected record's topic, partition and offset instead, since a rejected
message may have no usable declaration id or version, or share them with another.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

import orjson

from pipeline.contract.models import Declaration, Notice, NoticeError, NoticeKind, Outcome
from pipeline.notices import texts
from pipeline.notices.errors import schema_errors
from pipeline.screening.decode import DecodeFailure

__all__ = [
    "RejectedFiling",
    "filer_of",
    "notice_id",
    "outcome_notice",
    "read_rejected",
    "referral_closed",
    "rejected_notice",
]

NAMESPACE = uuid.UUID("5b0c2f0e-8a53-4b8e-9a47-3c1f6e2d9b70")
MAX_FILER_ID = 512  # as long as a declaration's ShortText fields may be
MAX_DECLARATION_ID = 64
_MAX_VERSION = 2_147_483_647
# Rejection codes whose message may still be a JSON object naming a filer.
_READABLE = frozenset({"SCHEMA", "TOO_LARGE"})


def filer_of(declaration: Declaration) -> str | None:
    """Whom to tell: ``filer_id``, else the declarant's first id value; None if neither."""
    if declaration.filer_id and declaration.filer_id.strip():
        return declaration.filer_id
    declarant = declaration.declarant
    if declarant is not None and declarant.ids:
        value = declarant.ids[0].value
        if value.strip():
            return value
    return None


def notice_id(declaration_id: str, version: int, kind: str) -> str:
    return _uuid5(f"{declaration_id}/{version}/{kind}")


_NAMESPACED_SHA1 = hashlib.sha1(NAMESPACE.bytes, usedforsecurity=False)


def _uuid5(name: str) -> str:
    """``str(uuid.uuid5(NAMESPACE, name))``, without building a UUID object: one notice per
    declaration, and the object costs three times the hash."""
    sha = _NAMESPACED_SHA1.copy()
    sha.update(name.encode())
    digest = bytearray(sha.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def outcome_notice(
    declaration: Declaration, filer_id: str, outcome: Outcome, issued_at: datetime
) -> Notice:
    """The notice of a FILING or AMENDMENT assessed ``outcome`` (ASSESSMENT_COMPLETE, RFI, HRCM
    or DNL)."""
    declaration_id, version = declaration.declaration_id, declaration.version
    transport = declaration.transport
    if outcome == "ASSESSMENT_COMPLETE":
        text = texts.assessment_complete(declaration_id, version)
    elif outcome == "RFI":
        loading_at = transport.estimated_loading_at if transport else None
        text = texts.rfi(declaration_id, version, loading_at, issued_at)
    elif outcome == "HRCM":
        loading_at = transport.estimated_loading_at if transport else None
        text = texts.hrcm(declaration_id, version, loading_at, issued_at)
    elif outcome == "DNL":
        text = texts.dnl(
            declaration_id, version, transport.discharge_location if transport else None
        )
    else:
        raise ValueError(f"no notice for the outcome {outcome!r}")
    return Notice(
        filer_id=filer_id,
        declaration_id=declaration_id,
        version=version,
        kind=outcome,
        notice_id=notice_id(declaration_id, version, outcome),
        issued_at=issued_at,
        text=text,
    )


def referral_closed(
    filer_id: str, declaration_id: str, version: int, referral: str | None, issued_at: datetime
) -> Notice:
    """``version``'s referral (``referral``: RFI, HRCM, DNL, or None if not known) is withdrawn."""
    kind: NoticeKind = "REFERRAL_CLOSED"
    return Notice(
        filer_id=filer_id,
        declaration_id=declaration_id,
        version=version,
        kind=kind,
        notice_id=notice_id(declaration_id, version, kind),
        issued_at=issued_at,
        text=texts.referral_closed(declaration_id, version, referral),
    )


@dataclass(frozen=True, slots=True)
class RejectedFiling:
    """A rejected message that names a filer, read in the thread that decodes the batch."""

    filer_id: str
    declaration_id: str  # as in the message, "" when it has none usable
    version: int  # as in the message, 0 when it has none usable
    errors: list[NoticeError]
    complete: bool  # every error is listed


def read_rejected(
    raw: bytes | None, failure: DecodeFailure, key: bytes | None, max_bytes: int
) -> RejectedFiling | None:
    """What a REJECTED notice needs of a dead-lettered message: None when it is not a JSON
    object, or names no filer."""
    if raw is None or failure.code not in _READABLE:
        return None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    filer_id = _filer_in(document)
    if filer_id is None:
        return None
    if failure.code == "TOO_LARGE":
        errors = [
            NoticeError(
                "$", f"the message is {len(raw):,} bytes; at most {max_bytes:,} are accepted"
            )
        ]
        complete = True
    else:
        found = schema_errors(document, key)
        errors, complete = found.errors, found.complete
        if not errors:  # not expected: the walk and the decoder check the same structs
            errors = [NoticeError(failure.path or "$", "is not in the form the contract gives")]
    declaration_id = document.get("declaration_id")
    version = document.get("version")
    return RejectedFiling(
        filer_id=filer_id,
        declaration_id=(
            declaration_id
            if isinstance(declaration_id, str) and len(declaration_id) <= MAX_DECLARATION_ID
            else ""
        ),
        version=(
            version
            if type(version) is int and 0 <= version <= _MAX_VERSION  # not a bool
            else 0
        ),
        errors=errors,
        complete=complete,
    )


def rejected_notice(
    rejected: RejectedFiling, topic: str, partition: int, offset: int, issued_at: datetime
) -> Notice:
    kind: NoticeKind = "REJECTED"
    return Notice(
        filer_id=rejected.filer_id,
        declaration_id=rejected.declaration_id,
        version=rejected.version,
        kind=kind,
        notice_id=_uuid5(f"{kind}/{topic}/{partition}/{offset}"),
        issued_at=issued_at,
        text=texts.rejected(
            rejected.declaration_id, rejected.version, len(rejected.errors), rejected.complete
        ),
        errors=rejected.errors,
    )


def _filer_in(document: dict[str, Any]) -> str | None:
    """``filer_id``, else ``declarant.ids[0].value``, of a message that was not decoded."""
    filer_id = document.get("filer_id")
    if _usable(filer_id):
        return filer_id
    declarant = document.get("declarant")
    ids = declarant.get("ids") if isinstance(declarant, dict) else None
    first = ids[0] if isinstance(ids, list) and ids else None
    value = first.get("value") if isinstance(first, dict) else None
    return value if _usable(value) else None


def _usable(filer_id: object) -> TypeGuard[str]:
    return (
        isinstance(filer_id, str) and 0 < len(filer_id) <= MAX_FILER_ID and bool(filer_id.strip())
    )
