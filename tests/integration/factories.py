"""Declarations built by hand for the integration tests."""

from __future__ import annotations

import copy
from typing import Any

import orjson


def filing(declaration_id: str, version: int = 1, hs_code: str = "940360") -> dict[str, Any]:
    return {
        "declaration_id": declaration_id,
        "version": version,
        "message_type": "FILING" if version == 1 else "AMENDMENT",
        "submitted_at": f"2026-11-27T10:00:{version:02d}.000Z",
        "declarant": {"name": "NORDIC FORWARDING AS", "ids": [{"scheme": "EORI", "value": "NO1"}]},
        "consignor": {"name": "NINGBO HOMEWARE CO., LTD.", "address": {"country": "CN"}},
        "consignee": {"name": "MOEBEL MUELLER GMBH", "address": {"country": "DE"}},
        "transport": {
            "mode": "SEA",
            "loading_location": "CNNGB",
            "discharge_location": "DEHAM",
            "routing_countries": ["CN", "SG", "DE"],
            "estimated_loading_at": "2026-11-29T10:00:00Z",
        },
        "transport_document": {"type": "MBL", "number": "MEDU1234567"},
        "equipment": [{"container_id": "MSCU6639870", "seals": ["ML-123456"]}],
        "goods": [
            {
                "seq": 1,
                "hs_code": hs_code,
                "description": "wooden bedroom furniture",
                "packages": 40,
                "package_type": "PK",
                "gross_mass_kg": 1200.0,
                "origin_country": "CN",
                "un_number": None,
                "container_ids": ["MSCU6639870"],
                "value": {"amount": 18000.0, "currency": "USD"},
            }
        ],
        "totals": {"packages": 40, "gross_mass_kg": 1200.0},
    }


def amendment(document: dict[str, Any], version: int, hs_code: str) -> dict[str, Any]:
    amended = copy.deepcopy(document)
    amended["version"] = version
    amended["message_type"] = "AMENDMENT"
    amended["submitted_at"] = f"2026-11-27T11:00:{version:02d}.000Z"
    amended["goods"][0]["hs_code"] = hs_code
    return amended


def invalidation(declaration_id: str, version: int) -> dict[str, Any]:
    return {
        "declaration_id": declaration_id,
        "version": version,
        "message_type": "INVALIDATION",
        "submitted_at": f"2026-11-27T12:00:{version:02d}.000Z",
    }


def encode(document: dict[str, Any]) -> tuple[bytes, bytes]:
    return document["declaration_id"].encode(), orjson.dumps(document)
