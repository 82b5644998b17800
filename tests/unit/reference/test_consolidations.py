"""House filings by master: the worker's copy of ``customs.consolidations.v1``."""

from __future__ import annotations

from pipeline.contract.models import Declaration
from pipeline.reference.consolidations import (
    ENCODER,
    Consolidations,
    HouseFiling,
    LinkedHouses,
    master_key,
)
from tests.factories import bare_declaration


def _put(copy: Consolidations, declaration_id: str, master: str, outcome: str) -> None:
    copy.apply(
        declaration_id.encode(), ENCODER.encode(HouseFiling(master, declaration_id, 1, outcome))
    )


def _declaration(declaration_id: str, master: str | None) -> Declaration:
    document = {"type": "HBL", "number": "HB-1", "master_number": master}
    return bare_declaration(declaration_id, transport_document=document)


def test_master_numbers_compare_without_case_spaces_or_punctuation() -> None:
    assert master_key("medu 123-4567") == master_key("MEDU1234567") == "MEDU1234567"


def test_the_other_houses_of_a_master_most_severe_first() -> None:
    copy = Consolidations()
    _put(copy, "D1", "MEDU1234567", "RFI")
    _put(copy, "D2", "medu 1234567", "DNL")
    _put(copy, "D3", "MEDU1234567", "ASSESSMENT_COMPLETE")
    _put(copy, "D4", "MEDU1234567", "HRCM")
    _put(copy, "D9", "OTHER", "DNL")
    assert copy.linked("MEDU1234567", "D3") == LinkedHouses(3, "DNL", ("D2", "D4", "D1"))
    assert copy.linked("MEDU1234567", "D2") == LinkedHouses(3, "HRCM", ("D4", "D1"))
    assert len(copy) == 5


def test_a_house_is_never_linked_to_itself() -> None:
    copy = Consolidations()
    _put(copy, "D1", "M1", "HRCM")
    assert copy.linked("M1", "D1") == LinkedHouses(0, None, ())


def test_a_tombstone_deletes_the_house_and_an_empty_master() -> None:
    copy = Consolidations()
    _put(copy, "D1", "M1", "HRCM")
    _put(copy, "D2", "M1", "RFI")
    copy.apply(b"D1", None)
    assert copy.linked("M1", "D9") == LinkedHouses(1, "RFI", ("D2",))
    copy.apply(b"D2", None)
    copy.apply(b"D2", None)  # a repeated tombstone is harmless
    assert len(copy) == 0
    assert copy.linked("M1", "D9") == LinkedHouses(0, None, ())


def test_an_amendment_that_changes_the_master_moves_the_house() -> None:
    copy = Consolidations()
    _put(copy, "D1", "M1", "HRCM")
    _put(copy, "D1", "M2", "HRCM")
    assert copy.linked("M1", "D9").count == 0
    assert copy.linked("M2", "D9").referred == ("D1",)


def test_the_facts_of_a_declaration_name_the_referred_houses() -> None:
    copy = Consolidations()
    _put(copy, "D1", "M1", "HRCM")
    _put(copy, "D2", "M1", "DNL")
    facts = copy.facts(_declaration("D3", "M1"))
    assert facts == {
        "master_house_count": 2,
        "master_referral_outcome": "DNL",
        "master_referred_declarations": "D2, D1",
    }


def test_a_filing_without_a_master_has_no_consolidation_facts() -> None:
    copy = Consolidations()
    _put(copy, "D1", "M1", "HRCM")
    assert copy.facts(_declaration("D3", None)) == {}
    assert copy.facts(_declaration("D3", " - ")) == {}  # nothing left once normalised
