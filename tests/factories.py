"""Declarations built by hand for the tests: one set of builders for the whole test tree.

``filing`` is a clean sea filing (the one rule cases start from, ``BASE_DECLARATION``) as the
JSON document a filer sends; ``declaration`` is the same decoded, ``encoded`` the same as bytes.
``bare_filing`` has the header only (id, version, type, time) and the fields given, for tests
of code that reads one part of a declaration. Changes are merged as rule cases merge them
(``pipeline.rules.cases.merge``): mappings key by key, lists item by item.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import orjson

from pipeline.contract.models import Declaration
from pipeline.rules.cases import BASE_DECLARATION, merge


def filing(
    declaration_id: str = "CASE-1", version: int = 1, hs_code: str = "940360", **changes: Any
) -> dict[str, Any]:
    """A clean sea filing with the given id, version and HS code, and the changes merged in.

    Version 1 is a FILING, later ones AMENDMENTs, each submitted a second after the one before;
    a version that is not a number (for tests of rejections) is a FILING's, as given.
    """
    numbered = isinstance(version, int)
    document = merge(
        BASE_DECLARATION,
        {
            "declaration_id": declaration_id,
            "version": version,
            "message_type": "AMENDMENT" if numbered and version > 1 else "FILING",
            "submitted_at": f"2026-11-20T08:00:{version if numbered else 0:02d}.000Z",
            "goods": [{"hs_code": hs_code}],
        },
    )
    # A copy: merge shares what it leaves unchanged with BASE_DECLARATION, which tests change.
    return copy.deepcopy(dict(merge(document, changes)))


def declaration(
    declaration_id: str = "CASE-1", version: int = 1, hs_code: str = "940360", **changes: Any
) -> Declaration:
    """``filing`` decoded."""
    return decoded(filing(declaration_id, version, hs_code, **changes))


def encoded(
    declaration_id: str = "CASE-1", version: int = 1, hs_code: str = "940360", **changes: Any
) -> bytes:
    """``filing`` as the bytes of a record's value."""
    return orjson.dumps(filing(declaration_id, version, hs_code, **changes))


def bare_filing(
    declaration_id: str = "D1",
    version: int = 1,
    submitted_at: str = "2026-11-27T10:00:00Z",
    **fields: Any,
) -> dict[str, Any]:
    """The header of a filing (an AMENDMENT after version 1) with the fields given, as given."""
    return copy.deepcopy(
        {
            "declaration_id": declaration_id,
            "version": version,
            "message_type": "FILING" if version == 1 else "AMENDMENT",
            "submitted_at": submitted_at,
            **fields,
        }
    )


def bare_declaration(
    declaration_id: str = "D1",
    version: int = 1,
    submitted_at: str = "2026-11-27T10:00:00Z",
    **fields: Any,
) -> Declaration:
    """``bare_filing`` decoded."""
    return decoded(bare_filing(declaration_id, version, submitted_at, **fields))


def amendment(document: dict[str, Any], version: int, hs_code: str) -> dict[str, Any]:
    """The document filed again as the given version, with the first goods item's HS code."""
    amended = copy.deepcopy(document)
    amended["version"] = version
    amended["message_type"] = "AMENDMENT"
    amended["submitted_at"] = f"2026-11-20T09:00:{version:02d}.000Z"
    amended["goods"][0]["hs_code"] = hs_code
    return amended


def invalidation(declaration_id: str, version: int, **fields: Any) -> dict[str, Any]:
    """The filer's withdrawal of the declaration, as the given version."""
    return {
        "declaration_id": declaration_id,
        "version": version,
        "message_type": "INVALIDATION",
        "submitted_at": f"2026-11-20T10:00:{version:02d}.000Z",
        **fields,
    }


def decoded(document: dict[str, Any]) -> Declaration:
    """The document as the worker decodes it, without the checks of the screening's decoder."""
    return msgspec.json.decode(orjson.dumps(document), type=Declaration)


def encode(document: dict[str, Any]) -> tuple[bytes, bytes]:
    """The document as a record's key and value."""
    return document["declaration_id"].encode(), orjson.dumps(document)
