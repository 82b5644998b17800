from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from pipeline.contract.models import Address, Party, PartyId
from pipeline.reference.clearances import party_key
from pipeline.reference.consolidations import master_key
from pipeline.workbench.referrals import clean, decode_hit, filed_master, referral_from_hit
from tests import factories


def _hit(declaration: dict | None = None, **fields: object) -> dict:
    hit = {
        "declaration_id": "D-1",
        "version": 2,
        "outcome": "DNL",
        "priority": 1,
        "score": 100.0,
        "summary": "DNL (score 100): a reason",
        "assessed_at": "2026-12-01T10:00:00.123Z",
        "matches": [
            {"rule_id": "WL-DNL", "evidence": {"consignee.watchlist_entry": "E-1"}},
            {"rule_id": "HS-ARMS-93", "evidence": {}},
        ],
        "declaration": declaration if declaration is not None else factories.filing(),
    }
    hit.update(fields)
    return hit


def test_the_worklist_columns_come_from_the_hit_and_its_filing() -> None:
    filing = factories.filing()
    referral = referral_from_hit(_hit(filing))
    assert (referral.declaration_id, referral.version, referral.outcome) == ("D-1", 2, "DNL")
    assert referral.assessed_at == datetime(2026, 12, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert referral.rule_ids == ["HS-ARMS-93", "WL-DNL"]
    transport = filing["transport"]
    assert referral.mode == transport["mode"]
    assert referral.office == transport["discharge_location"]
    assert referral.estimated_loading_at is not None
    expected = {e["container_id"].upper() for e in filing.get("equipment", [])}
    assert set(referral.container_ids) >= expected
    assert "declaration" not in referral.hit
    assert referral.declaration == filing


def test_each_party_is_keyed_as_the_worker_keys_it() -> None:
    referral = referral_from_hit(_hit())
    consignee = next(p for p in referral.parties if p.role == "consignee")
    raw = factories.filing()["consignee"]
    country = (raw.get("address") or {}).get("country")
    party = Party(
        name=raw["name"],
        ids=[PartyId(i["scheme"], i["value"]) for i in raw.get("ids", [])],
        address=Address(country=country) if country else None,
    )
    assert consignee.party_key == party_key(party)
    assert consignee.name.upper() in referral.party_names


def test_a_hit_without_its_filing_still_makes_a_case() -> None:
    hit = _hit()
    del hit["declaration"]
    referral = referral_from_hit(hit)
    assert referral.declaration is None
    assert referral.parties == []
    assert referral.mode is None


@pytest.mark.parametrize(
    "broken",
    [
        {"declaration": "not an object"},
        {"assessed_at": 12},
        {"version": "two"},
    ],
)
def test_a_record_that_is_not_a_hit_is_refused(broken: dict) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        referral_from_hit(_hit(**broken))


def test_a_missing_field_is_refused() -> None:
    hit = _hit()
    del hit["outcome"]
    with pytest.raises(KeyError):
        referral_from_hit(hit)


def test_a_hit_record_is_read_with_its_filing_apart() -> None:
    filing = b'{"declaration_id": "D-1", "huge": 1e400, "long": ' + b"9" * 400 + b"}"
    record = orjson.dumps(_hit(None))[:-1]
    record = record.replace(b'"declaration":{', b'"other":{') + b',"declaration":' + filing + b"}"
    decoded = decode_hit(record)
    assert decoded.declaration_json == filing.decode()
    assert decoded.declaration is not None
    assert decoded.declaration["long"] == int("9" * 400)
    assert decoded.hit["declaration_id"] == "D-1"
    assert "declaration" not in decoded.hit
    assert referral_from_hit(decoded.hit, decoded.declaration).declaration_id == "D-1"


@pytest.mark.parametrize("record", [b"[]", b"not json", b'{"declaration": 3}'])
def test_a_record_that_is_not_a_hit_object_is_refused(record: bytes) -> None:
    with pytest.raises(ValueError, match=r"not a JSON object|not an object"):
        decode_hit(record)


def test_text_for_the_database_holds_no_nul() -> None:
    assert clean("A\x00B") == "AB"


def _house(master: object) -> dict:
    filing = factories.filing()
    filing["transport_document"] = {"type": "HBL", "number": "HB-1", "master_number": master}
    return filing


@pytest.mark.parametrize(
    ("master", "key"),
    [
        ("MEDU 123.456-7", "MEDU1234567"),
        ("medu1234567", "MEDU1234567"),
        ("020-1234 5675", "02012345675"),
    ],
)
def test_a_house_filing_keeps_its_master_as_the_worker_links_it(master: str, key: str) -> None:
    referral = referral_from_hit(_hit(_house(master)))
    assert referral.master_number == key
    assert referral.master_number == master_key(master)


@pytest.mark.parametrize("master", [None, "", " - / ", 12345, ["MEDU1"]])
def test_a_filing_without_a_master_number_links_nothing(master: object) -> None:
    assert referral_from_hit(_hit(_house(master))).master_number is None
    assert referral_from_hit(_hit()).master_number is None  # a master bill names none


def test_the_master_number_is_read_from_a_decoded_hit_record() -> None:
    record = orjson.dumps(_hit(_house("msc 99\u00001")))
    decoded = decode_hit(record)
    referral = referral_from_hit(decoded.hit, decoded.declaration, decoded.declaration_json)
    assert referral.master_number == "MSC991"
    assert filed_master(_house("msc 99\u00001")) == "msc 991"
    assert filed_master(_house("  ")) is None
    assert filed_master({}) is None
