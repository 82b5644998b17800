"""Party lookups: remembered per party and date, forgotten when the reference data changes."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from pipeline.contract.models import AeoRecord, Party, PartyId, WatchlistEntry
from pipeline.reference import parties
from pipeline.reference.parties import ReferenceData
from tests.factories import bare_declaration as filed

OPERATOR = "DEAEOF0000000001"


def aeo(status: str = "ACTIVE", valid_to: date | None = None) -> bytes:
    record = AeoRecord(
        operator_id=OPERATOR,
        scheme="AEO",
        name="Hamburg Exporters GmbH",
        country="DE",
        aeo_type="AEOF",
        status=status,  # type: ignore[arg-type]
        valid_from=date(2020, 1, 1),
        valid_to=valid_to,
        mra_partner=None,
    )
    return msgspec.json.encode(record)


def listing(name: str) -> bytes:
    entry = WatchlistEntry(
        entry_id="SDN-1",
        name=name,
        aliases=[],
        ids=[],
        list="OFAC",
        action="DNL",
        reason="listed",
    )
    return msgspec.json.encode(entry)


CONSIGNOR = Party(name="Hamburg Exporters GmbH", ids=[PartyId("AEO", OPERATOR)])


@pytest.fixture
def reference(empty_reference: ReferenceData) -> ReferenceData:
    data = empty_reference
    data.apply_aeo(OPERATOR.encode(), aeo())
    return data


def test_a_repeated_lookup_gives_the_same_facts_with_the_role_asked_for(
    reference: ReferenceData,
) -> None:
    facts, status = reference.lookup(filed(), "consignor", CONSIGNOR)
    again, other_role = reference.lookup(filed(), "declarant", CONSIGNOR)
    assert facts.aeo_status == again.aeo_status == "ACTIVE"
    assert (status.role, other_role.role) == ("consignor", "declarant")


def test_an_aeo_update_is_seen_by_the_next_lookup(reference: ReferenceData) -> None:
    assert reference.lookup(filed(), "consignor", CONSIGNOR)[0].aeo_status == "ACTIVE"
    reference.apply_aeo(OPERATOR.encode(), aeo("SUSPENDED"))
    assert reference.lookup(filed(), "consignor", CONSIGNOR)[0].aeo_status == "SUSPENDED"
    reference.apply_aeo(OPERATOR.encode(), None)
    assert reference.lookup(filed(), "consignor", CONSIGNOR)[0].aeo_status == "UNVERIFIED"


def test_a_new_listing_is_seen_by_the_next_lookup(reference: ReferenceData) -> None:
    assert reference.lookup(filed(), "consignor", CONSIGNOR)[0].watchlist_action is None
    reference.apply_watchlist(b"SDN-1", listing("Hamburg Exporters GmbH"))
    assert reference.lookup(filed(), "consignor", CONSIGNOR)[0].watchlist_action == "DNL"
    reference.apply_watchlist(b"SDN-1", None)
    assert reference.lookup(filed(), "consignor", CONSIGNOR)[0].watchlist_action is None


def test_the_filing_date_is_part_of_what_is_remembered(reference: ReferenceData) -> None:
    reference.apply_aeo(OPERATOR.encode(), aeo(valid_to=date(2026, 6, 30)))
    before = reference.lookup(filed(submitted_at="2026-06-30T10:00:00Z"), "consignor", CONSIGNOR)[0]
    after = reference.lookup(filed(submitted_at="2026-07-01T10:00:00Z"), "consignor", CONSIGNOR)[0]
    assert (before.aeo_status, after.aeo_status) == ("ACTIVE", "EXPIRED")


def test_a_full_memo_starts_afresh(
    reference: ReferenceData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parties, "MEMO_LIMIT", 2)
    for n in range(5):
        party = Party(name=f"Company {n}", ids=[PartyId("AEO", OPERATOR)])
        assert reference.lookup(filed(), "consignor", party)[0].aeo_status == "ACTIVE"
    assert len(reference._memo) <= 2
