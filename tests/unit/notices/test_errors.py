"""Every error of a rejected declaration, by JSON path, in plain words; and the walk that finds
them refuses exactly what the decoder refuses."""

from __future__ import annotations

import typing
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given

from pipeline.contract.models import Declaration, NoticeError
from pipeline.notices import errors
from pipeline.notices.errors import MAX_ERRORS, PATTERN_WORDS, schema_errors
from pipeline.screening.decode import decode_declaration
from tests.factories import filing
from tests.unit.screening.test_fuzz import FUZZ, declarations, dumps, mutated

MAX_BYTES = 1 << 20


def found(**fragment: Any) -> list[tuple[str, str]]:
    result = schema_errors(filing(**fragment), None)
    return [(e.path, e.message) for e in result.errors]


@pytest.mark.parametrize(
    ("fragment", "path", "message"),
    [
        ({"goods": [{"hs_code": "93"}]}, "$.goods[0].hs_code", "must be 6 to 10 digits"),
        ({"goods": [{"hs_code": 930690}]}, "$.goods[0].hs_code", "must be 6 to 10 digits"),
        (
            {"declaration_id": "D/1"},
            "$.declaration_id",
            "must be 1 to 64 letters, digits, '-' or '_'",
        ),
        (
            {"version": 0},
            "$.version",
            "must be a whole number from 1 to 2,147,483,647",
        ),
        ({"version": "1"}, "$.version", "must be a whole number from 1 to 2,147,483,647"),
        ({"version": True}, "$.version", "must be a whole number from 1 to 2,147,483,647"),
        (
            {"message_type": "CANCELLATION"},
            "$.message_type",
            "must be one of AMENDMENT, FILING or INVALIDATION",
        ),
        (
            {"submitted_at": "2026-11-20T08:00:00"},
            "$.submitted_at",
            "must be a date and time with its time zone, like 2026-11-27T15:04:05Z",
        ),
        (
            {"transport": {"loading_location": "Shanghai"}},
            "$.transport.loading_location",
            "must be a UN/LOCODE of five characters, like DEHAM",
        ),
        (
            {"place_of_receipt": "cnszx"},
            "$.place_of_receipt",
            "must be a UN/LOCODE of five characters, like DEHAM",
        ),
        (
            {"transport": {"vessel": {"flag": "Panama"}}},
            "$.transport.vessel.flag",
            "must be a country code of two capital letters (ISO 3166-1), like DE",
        ),
        (
            {"transport": {"vessel": {"imo": "9" * 33}}},
            "$.transport.vessel.imo",
            "must be text of at most 32 characters",
        ),
        (
            {"transport": {"vessel": "MSC ANNA"}},
            "$.transport.vessel",
            "must be an object, in braces {...}",
        ),
        (
            {"goods": [{"value": {"amount": 5, "currency": "euro"}}]},
            "$.goods[0].value.currency",
            "must be a currency code of three capital letters (ISO 4217), like EUR",
        ),
        (
            {"goods": [{"un_number": "3480"}]},
            "$.goods[0].un_number",
            "must be UN followed by four digits, like UN3480",
        ),
        (
            {"goods": [{"gross_mass_kg": -1}]},
            "$.goods[0].gross_mass_kg",
            "must be a number from 0 to 1,000,000,000",
        ),
        (
            {"consignee": {"address": {"po_box": "no"}}},
            "$.consignee.address.po_box",
            "must be true or false",
        ),
        ({"equipment": "MSCU6639870"}, "$.equipment", "must be a list, in brackets [...]"),
        ({"equipment": [{}, {"seals": []}]}, "$.equipment[1].container_id", "is required"),
        (
            {"transport": {"routing_countries": ["CN"] * 65}},
            "$.transport.routing_countries",
            "must have at most 64 items; it has 65",
        ),
        ({"goods": []}, "$.goods", "must have 1 to 999 items; it has 0"),
        ({"goods": None}, "$.goods", "is required in a FILING"),
        ({"consignor": None}, "$.consignor", "is required in a FILING"),
    ],
)
def test_an_error_in_plain_words(fragment: dict[str, Any], path: str, message: str) -> None:
    assert found(**fragment) == [(path, message)]


def test_every_error_is_found_not_only_the_first() -> None:
    assert found(
        version="one",
        transport={"mode": "SPACE"},
        goods=[{"hs_code": "93"}, "x", {"hs_code": "85171"}],
        consignee=None,
    ) == [
        ("$.version", "must be a whole number from 1 to 2,147,483,647"),
        ("$.transport.mode", "must be one of AIR, RAIL, ROAD or SEA"),
        ("$.goods[0].hs_code", "must be 6 to 10 digits"),
        ("$.goods[1]", "must be an object, in braces {...}"),
        ("$.goods[2].hs_code", "must be 6 to 10 digits"),
        ("$.consignee", "is required in a FILING"),
    ]


def test_an_invalidation_needs_only_its_four_fields() -> None:
    invalidation = {
        "declaration_id": "D",
        "version": 2,
        "message_type": "INVALIDATION",
        "submitted_at": "2026-11-20T08:00:00Z",
    }
    assert schema_errors(invalidation, b"D").errors == []
    assert schema_errors({**invalidation, "version": 0}, b"D").errors == [
        NoticeError("$.version", "must be a whole number from 1 to 2,147,483,647")
    ]


def test_a_missing_required_field_is_named_by_its_own_path() -> None:
    document = filing()
    del document["submitted_at"]
    document["consignor"] = {"address": {"city": "Ningbo"}}
    result = schema_errors(document, None)
    assert result.errors == [
        NoticeError("$.submitted_at", "is required"),
        NoticeError("$.consignor.name", "is required"),
    ]


def test_the_list_of_errors_is_bounded_and_says_so() -> None:
    result = schema_errors(filing(goods=[{"hs_code": "1"}] * 50), None)
    assert len(result.errors) == MAX_ERRORS
    assert not result.complete
    assert schema_errors(filing(), None).complete


def test_the_walk_of_a_huge_message_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(errors, "MAX_VALUES", 100)
    goods = [{"hs_code": "940360", "description": "chairs"}] * 999
    result = schema_errors(filing(goods=goods), None)
    assert result.errors == []
    assert not result.complete


def _patterns(annotation: Any, seen: set[Any]) -> set[str]:
    """Every pattern of a string reachable from ``annotation``."""
    found: set[str] = set()
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        if annotation in seen:
            return found
        seen.add(annotation)
        for field in msgspec.structs.fields(annotation):
            found |= _patterns(field.type, seen)
        return found
    for meta in typing.get_args(annotation):
        if isinstance(meta, msgspec.Meta) and meta.pattern is not None:
            found.add(meta.pattern)
        else:
            found |= _patterns(meta, seen)
    return found


def test_every_pattern_of_the_declaration_has_plain_words() -> None:
    patterns = _patterns(Declaration, set())
    assert len(patterns) == 6
    assert patterns == set(PATTERN_WORDS)


def test_no_message_is_a_regular_expression() -> None:
    for words in PATTERN_WORDS.values():
        assert not set(words) & set("^$[]{}\\?*+|")


# --- the walk and the decoder agree ---------------------------------------------------------------


def _agree(raw: bytes) -> None:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return
    if not isinstance(document, dict):
        return
    decoded = decode_declaration(raw, MAX_BYTES)
    result = schema_errors(document, None)
    assert (result.errors == []) == isinstance(decoded, Declaration), (decoded, result.errors)
    if not isinstance(decoded, Declaration) and decoded.path is not None:
        assert any(e.path.startswith(decoded.path) for e in result.errors), (decoded, result)


@FUZZ
@given(declarations())
def test_a_valid_declaration_has_no_errors(document: dict[str, Any]) -> None:
    _agree(dumps(document))


@FUZZ
@given(mutated())
def test_a_mutated_declaration_has_errors_exactly_when_the_decoder_rejects_it(raw: bytes) -> None:
    _agree(raw)
