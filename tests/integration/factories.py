"""Declarations built by hand for the integration tests."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from pipeline.rules.cases import BASE_DECLARATION, merge


def filing(declaration_id: str, version: int = 1, hs_code: str = "940360") -> dict[str, Any]:
    """A clean sea filing (the one rule cases start from), with the given id and HS code."""
    document = merge(
        BASE_DECLARATION,
        {
            "declaration_id": declaration_id,
            "version": version,
            "message_type": "FILING" if version == 1 else "AMENDMENT",
            "goods": [{"hs_code": hs_code}],
        },
    )
    document["submitted_at"] = f"2026-11-20T08:00:{version:02d}.000Z"
    return dict(document)


def amendment(document: dict[str, Any], version: int, hs_code: str) -> dict[str, Any]:
    amended = copy.deepcopy(document)
    amended["version"] = version
    amended["message_type"] = "AMENDMENT"
    amended["submitted_at"] = f"2026-11-20T09:00:{version:02d}.000Z"
    amended["goods"][0]["hs_code"] = hs_code
    return amended


def invalidation(declaration_id: str, version: int) -> dict[str, Any]:
    return {
        "declaration_id": declaration_id,
        "version": version,
        "message_type": "INVALIDATION",
        "submitted_at": f"2026-11-20T10:00:{version:02d}.000Z",
    }


def encode(document: dict[str, Any]) -> tuple[bytes, bytes]:
    return document["declaration_id"].encode(), orjson.dumps(document)
