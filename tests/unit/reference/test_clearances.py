"""Clearances of false watch-list matches: one party, one entry, until a date; and the party
lookups that drop the cleared findings (and forget what they remembered when one changes)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import msgspec
import pytest

from pipeline.contract.models import Address, Party, PartyId, WatchlistEntry
from pipeline.reference.clearances import (
    Clearances,
    WatchlistClearance,
    clearance_key,
    encode,
    party_key,
)
from pipeline.reference.parties import ReferenceData
from pipeline.screening.enrich import PartyFacts
from tests.factories import bare_declaration as filed

CLEARED_AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
LAST_DAY = date(2026, 11, 30)

# Two entries the same company matches: a sanctions listing by name, a national one by its TIN.
NAMED = WatchlistEntry(
    entry_id="OFAC-7", name="Kestrel Logistics", list="OFAC", action="DNL", reason="sanctions"
)
BY_TIN = WatchlistEntry(
    entry_id="NAT-3",
    name="Some Other Name Entirely",
    ids=[PartyId("TIN", "TX-998877")],
    list="NATIONAL",
    action="RFI",
    reason="previous seizure",
)
KESTREL = Party(
    name="Kestrel Logistics LLC",
    ids=[PartyId("TIN", "TX-998877")],
    address=Address(country="AE"),
)
# The same name, in another country: another party, which a clearance of KESTREL never covers.
NAMESAKE = Party(name="Kestrel Logistics", address=Address(country="DE"))


def clearance(
    party: Party = KESTREL, entry_id: str = NAMED.entry_id, expires_on: date = LAST_DAY
) -> tuple[bytes, bytes]:
    """A record of the clearances topic, as the workbench publishes it."""
    value = WatchlistClearance(
        party_key=party_key(party),
        entry_id=entry_id,
        expires_on=expires_on,
        cleared_at=CLEARED_AT,
        clearance_id=f"CLR-{entry_id}",
    )
    return clearance_key(value.party_key, entry_id), encode(value)


def lifted(party: Party = KESTREL, entry_id: str = NAMED.entry_id) -> tuple[bytes, None]:
    return clearance_key(party_key(party), entry_id), None


# --- Clearances -------------------------------------------------------------------------------


def test_a_clearance_holds_for_its_party_and_entry_through_its_last_day() -> None:
    held = Clearances()
    held.apply(*clearance())
    assert len(held) == 1
    key = party_key(KESTREL)
    assert held.cleared_entries(key, date(2026, 11, 20)) == {NAMED.entry_id}
    assert held.cleared_entries(key, LAST_DAY) == {NAMED.entry_id}
    assert held.cleared_entries(key, date(2026, 12, 1)) == frozenset()  # expired


def test_a_clearance_covers_no_other_entry_and_no_other_party() -> None:
    held = Clearances()
    held.apply(*clearance())
    assert BY_TIN.entry_id not in held.cleared_entries(party_key(KESTREL), LAST_DAY)
    assert held.cleared_entries(party_key(NAMESAKE), LAST_DAY) == frozenset()


def test_a_tombstone_lifts_only_its_own_clearance() -> None:
    held = Clearances()
    held.apply(*clearance())
    held.apply(*clearance(entry_id=BY_TIN.entry_id))
    held.apply(*lifted())
    assert held.cleared_entries(party_key(KESTREL), LAST_DAY) == {BY_TIN.entry_id}
    held.apply(*lifted(entry_id=BY_TIN.entry_id))
    assert len(held) == 0
    assert held.cleared_entries(party_key(KESTREL), LAST_DAY) == frozenset()


def test_repeated_tombstones_and_tombstones_without_key_are_ignored() -> None:
    held = Clearances()
    held.apply(*lifted())
    held.apply(None, None)
    held.apply(*clearance())
    held.apply(*lifted())
    held.apply(*lifted())
    assert len(held) == 0


def test_a_later_record_of_the_same_clearance_replaces_it() -> None:
    held = Clearances()
    held.apply(*clearance(expires_on=date(2026, 11, 25)))
    held.apply(*clearance(expires_on=date(2027, 1, 31)))  # extended
    assert len(held) == 1
    assert held.cleared_entries(party_key(KESTREL), date(2027, 1, 31)) == {NAMED.entry_id}
    held.apply(*clearance(expires_on=date(2026, 11, 19)))  # cut short
    assert held.cleared_entries(party_key(KESTREL), date(2026, 11, 20)) == frozenset()


def test_a_bad_record_raises_and_changes_nothing() -> None:
    held = Clearances()
    held.apply(*clearance())
    with pytest.raises(msgspec.DecodeError):
        held.apply(b"k", b'{"party_key": "x"}')
    assert held.cleared_entries(party_key(KESTREL), LAST_DAY) == {NAMED.entry_id}


def test_party_key_is_who_the_party_is_not_how_it_was_typed() -> None:
    same = Party(
        name="  kestrel   LOGISTICS llc ",
        ids=[PartyId("TIN", "tx 998877")],
        address=Address(country="AE", city="Dubai"),
    )
    assert party_key(same) == party_key(KESTREL)
    assert party_key(NAMESAKE) != party_key(KESTREL)
    other_id = Party(name=KESTREL.name, ids=[PartyId("TIN", "TX-1")], address=KESTREL.address)
    assert party_key(other_id) != party_key(KESTREL)
    assert len(party_key(KESTREL)) == 32
    assert "KESTREL" not in party_key(KESTREL).upper()


# --- ReferenceData: cleared findings dropped before the worst is chosen -----------------------


@pytest.fixture
def reference(empty_reference: ReferenceData) -> ReferenceData:
    data = empty_reference
    for entry in (NAMED, BY_TIN):
        data.apply_watchlist(entry.entry_id.encode(), msgspec.json.encode(entry))
    return data


def entry_of(
    reference: ReferenceData, party: Party, submitted_at: str = "2026-11-27T10:00:00Z"
) -> str | None:
    facts = reference.lookup(filed(submitted_at=submitted_at), "consignee", party)[0]
    found = facts.watchlist_entry
    return None if found is None else str(found)


def test_the_cleared_entry_is_dropped_and_the_next_worst_reported(
    reference: ReferenceData,
) -> None:
    assert entry_of(reference, KESTREL) == NAMED.entry_id  # DNL before RFI
    reference.apply_clearance(*clearance())
    facts = reference.lookup(filed(), "consignee", KESTREL)[0]
    assert facts.watchlist_entry == BY_TIN.entry_id
    assert facts.watchlist_action == "RFI"
    assert facts.watchlist_list == "NATIONAL"
    assert facts.watchlist_match == "ID"


def test_a_party_cleared_of_every_entry_it_matches_has_no_watch_list_facts(
    reference: ReferenceData,
) -> None:
    reference.apply_clearance(*clearance())
    reference.apply_clearance(*clearance(entry_id=BY_TIN.entry_id))
    facts = reference.lookup(filed(), "consignee", KESTREL)[0]
    assert facts == PartyFacts(facts.aeo_status, facts.aeo_type, facts.aeo_security)
    assert facts.aeo_status == "NONE"


def test_another_party_still_matches_the_cleared_entry(reference: ReferenceData) -> None:
    reference.apply_clearance(*clearance())
    assert entry_of(reference, NAMESAKE) == NAMED.entry_id


def test_the_entry_matches_again_after_the_last_day(reference: ReferenceData) -> None:
    reference.apply_clearance(*clearance())
    assert entry_of(reference, KESTREL, "2026-11-30T23:59:59Z") == BY_TIN.entry_id
    assert entry_of(reference, KESTREL, "2026-12-01T00:00:00Z") == NAMED.entry_id


def test_the_last_day_is_judged_in_utc(reference: ReferenceData) -> None:
    reference.apply_clearance(*clearance())
    # 30 November where it was filed, 1 December in UTC: expired.
    assert entry_of(reference, KESTREL, "2026-11-30T20:00:00-05:00") == NAMED.entry_id
    # 1 December where it was filed, still 30 November in UTC: cleared.
    assert entry_of(reference, KESTREL, "2026-12-01T01:00:00+02:00") == BY_TIN.entry_id


def test_a_clearance_given_or_lifted_is_seen_by_the_next_lookup(reference: ReferenceData) -> None:
    assert entry_of(reference, KESTREL) == NAMED.entry_id  # remembered now
    reference.apply_clearance(*clearance())
    assert entry_of(reference, KESTREL) == BY_TIN.entry_id
    reference.apply_clearance(*lifted())
    assert entry_of(reference, KESTREL) == NAMED.entry_id
    assert len(reference.clearances) == 0


def test_a_listing_changed_after_a_clearance_is_still_filtered(reference: ReferenceData) -> None:
    reference.apply_clearance(*clearance())
    stronger = msgspec.structs.replace(NAMED, reason="sanctions, updated")
    reference.apply_watchlist(NAMED.entry_id.encode(), msgspec.json.encode(stronger))
    assert entry_of(reference, KESTREL) == BY_TIN.entry_id


def test_clearances_can_be_given_while_lookups_run(reference: ReferenceData) -> None:
    """The mirror thread applies records while batches look parties up: no deadlock between
    the two locks, and the final state is the last record's."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def look_up() -> None:
        try:
            while not stop.is_set():
                assert entry_of(reference, KESTREL) in (NAMED.entry_id, BY_TIN.entry_id)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    readers = [threading.Thread(target=look_up) for _ in range(2)]
    for thread in readers:
        thread.start()
    for _ in range(500):
        reference.apply_clearance(*clearance())
        reference.apply_clearance(*lifted())
    reference.apply_clearance(*clearance())
    stop.set()
    for thread in readers:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in readers)
    assert failures == []
    assert entry_of(reference, KESTREL) == BY_TIN.entry_id


def test_a_malformed_clearance_is_refused_and_lookups_go_on(reference: ReferenceData) -> None:
    reference.apply_clearance(*clearance())
    with pytest.raises(msgspec.DecodeError):
        reference.apply_clearance(b"k", b"not json")
    assert entry_of(reference, KESTREL) == BY_TIN.entry_id


def test_the_default_reference_data_has_no_clearances(empty_reference: ReferenceData) -> None:
    data = empty_reference
    assert len(data.clearances) == 0
    assert data.clearances.cleared_entries(party_key(KESTREL), LAST_DAY) == frozenset()
