from __future__ import annotations

from pipeline.workbench.cases import _master_as_filed, watchlist_matches


def test_watch_list_matches_are_read_from_the_evidence_per_party() -> None:
    hit = {
        "matches": [
            {
                "rule_id": "WL-DNL",
                "evidence": {
                    "consignee.watchlist_entry": "E-1",
                    "consignee.watchlist_list": "OFAC",
                    "consignee.watchlist_match": "FUZZY",
                },
            },
            {"rule_id": "WL-RFI", "evidence": {"notify_party.watchlist_entry": "N-2"}},
            {"rule_id": "HS-ARMS-93", "evidence": {"goods[1].hs_code": "930690"}},
        ]
    }
    parties = [{"role": "consignee", "party_key": "k1", "name": "ACME"}]
    found = watchlist_matches(hit, parties)
    assert [(m.role, m.entry_id, m.list, m.how, m.party_key) for m in found] == [
        ("consignee", "E-1", "OFAC", "FUZZY", "k1"),
        ("notify_party", "N-2", None, None, None),
    ]


def test_no_matches_without_evidence() -> None:
    assert watchlist_matches({}, []) == []


def test_the_master_is_shown_as_filed_and_only_for_a_house() -> None:
    house = {"transport_document": {"type": "HBL", "master_number": "medu 123"}}
    assert _master_as_filed({"master_number": "MEDU123"}, house) == "medu 123"
    assert _master_as_filed({"master_number": "MEDU123"}, None) == "MEDU123"
    assert _master_as_filed({"master_number": None}, house) is None
