"""Decoding one raw message: a Declaration, or a DecodeFailure with the contract's code and path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.contract.models import Declaration
from pipeline.screening.decode import DecodeFailure, decode_declaration

LIMIT = 1_000_000


def filing(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "declaration_id": "DE-2026_0001",
        "version": 1,
        "message_type": "FILING",
        "submitted_at": "2026-11-27T15:04:05.123Z",
        "declarant": {"name": "Fast Forwarding GmbH"},
        "consignor": {"name": "Shanghai Electronics Ltd"},
        "consignee": {"name": "Berlin Retail AG"},
        "goods": [{"seq": 1, "hs_code": "851712", "gross_mass_kg": 12.5}],
    }
    document.update(changes)
    return document


def without(document: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != field}


def encode(document: Any) -> bytes:
    return json.dumps(document).encode()


def decode(raw: bytes | None, max_bytes: int = LIMIT) -> Declaration | DecodeFailure:
    return decode_declaration(raw, max_bytes)


def accepted(raw: bytes | None) -> Declaration:
    result = decode(raw)
    assert isinstance(result, Declaration), result
    return result


def rejected(raw: bytes | None, max_bytes: int = LIMIT) -> DecodeFailure:
    result = decode(raw, max_bytes)
    assert isinstance(result, DecodeFailure), result
    assert result.message
    return result


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# --- accepted ------------------------------------------------------------------------------------


def test_valid_filing_is_decoded() -> None:
    declaration = accepted(encode(filing()))
    assert declaration.declaration_id == "DE-2026_0001"
    assert declaration.version == 1
    assert declaration.message_type == "FILING"
    assert declaration.submitted_at.utcoffset() is not None
    assert declaration.goods is not None
    assert declaration.goods[0].hs_code == "851712"


def test_hs_code_keeps_its_leading_zeros() -> None:
    declaration = accepted(encode(filing(goods=[{"hs_code": "0101210000"}])))
    assert declaration.goods is not None
    assert declaration.goods[0].hs_code == "0101210000"


def test_invalidation_with_only_the_four_fields_is_accepted() -> None:
    raw = encode(
        {
            "declaration_id": "DE-2026_0001",
            "version": 2,
            "message_type": "INVALIDATION",
            "submitted_at": "2026-11-27T16:00:00Z",
        }
    )
    declaration = accepted(raw)
    assert declaration.message_type == "INVALIDATION"
    assert declaration.goods is None
    assert declaration.declarant is None


def test_amendment_is_accepted() -> None:
    assert accepted(encode(filing(version=2, message_type="AMENDMENT"))).version == 2


@pytest.mark.parametrize(
    "extra",
    [
        {"x_vendor": "kept and ignored"},
        {"x_nested": {"a": [1, 2, {"b": None}]}},
        {"x_huge_number": 10**40},
        {"x_number_beyond_double": 1},  # replaced by 1e400 in the raw bytes below
    ],
    ids=["text", "nested", "huge integer", "1e400"],
)
def test_unknown_top_level_fields_are_accepted(extra: dict[str, Any]) -> None:
    raw = encode(filing(**extra))
    raw = raw.replace(b'"x_number_beyond_double": 1', b'"x_number_beyond_double": 1e400')
    accepted(raw)


def test_unknown_fields_inside_nested_objects_are_accepted() -> None:
    raw = encode(
        filing(
            declarant={"name": "A", "x_rating": 5},
            goods=[{"hs_code": "851712", "x_line": {"k": "v"}}],
            transport={"mode": "SEA", "x_imo": "9321483"},
        )
    )
    declaration = accepted(raw)
    assert declaration.declarant is not None
    assert declaration.declarant.name == "A"


def test_999_goods_are_accepted() -> None:
    declaration = accepted(encode(filing(goods=[{"hs_code": "851712"}] * 999)))
    assert declaration.goods is not None
    assert len(declaration.goods) == 999


@pytest.mark.parametrize(
    "declaration_id", ["A", "D" * 64, "abc-DEF_123", "0"], ids=["1", "64", "mixed", "digit"]
)
def test_declaration_id_within_the_rule_is_accepted(declaration_id: str) -> None:
    assert accepted(encode(filing(declaration_id=declaration_id))).declaration_id == declaration_id


def test_timestamp_with_an_offset_is_accepted() -> None:
    declaration = accepted(encode(filing(submitted_at="2026-11-27T17:04:05+02:00")))
    assert declaration.submitted_at.isoformat() == "2026-11-27T17:04:05+02:00"


def test_escaped_nul_inside_a_string_is_valid_json() -> None:
    declaration = accepted(encode(filing(declarant={"name": "A\u0000B"})))
    assert declaration.declarant is not None
    assert declaration.declarant.name == "A\x00B"


def test_duplicate_keys_are_accepted_and_the_last_one_wins() -> None:
    raw = (
        b'{"declaration_id": "D1", "version": 1, "version": 2, "message_type": "INVALIDATION",'
        b' "submitted_at": "2026-11-27T16:00:00Z", "declaration_id": "D2"}'
    )
    declaration = accepted(raw)
    assert (declaration.declaration_id, declaration.version) == ("D2", 2)


def test_message_exactly_at_the_limit_is_not_too_large() -> None:
    raw = encode(filing())
    assert isinstance(decode(raw, max_bytes=len(raw)), Declaration)


# --- rejected: each code -----------------------------------------------------------------------


def test_null_value_is_not_an_object() -> None:
    failure = rejected(None)
    assert failure.code == "NOT_AN_OBJECT"
    assert failure.path is None


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"null", "null"),
        (b"[]", "list"),
        (b'[{"declaration_id": "D1"}]', "list"),
        (b'"FILING"', "str"),
        (b"42", "int"),
        (b"4.2", "float"),
        (b"true", "bool"),
    ],
)
def test_json_that_is_not_an_object(raw: bytes, kind: str) -> None:
    failure = rejected(raw)
    assert failure.code == "NOT_AN_OBJECT"
    assert failure.path == "$"
    assert kind in failure.message


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"   \n\t", id="whitespace only"),
        pytest.param(b"\x00", id="NUL byte"),
        pytest.param(b'{"declaration_id": "D\x001"}', id="raw NUL inside a string"),
        pytest.param(b"{", id="unterminated object"),
        pytest.param(encode(filing())[:-7], id="truncated"),
        pytest.param(encode(filing()) + b" x", id="trailing garbage"),
        pytest.param(encode(filing()) + encode(filing()), id="two documents"),
        pytest.param(b"{'declaration_id': 'D1'}", id="single quotes"),
        pytest.param(b'{"version": 1,}', id="trailing comma"),
        pytest.param(encode(filing()).replace(b'"version": 1', b'"version": NaN'), id="NaN"),
        pytest.param(
            encode(filing(goods=[{"gross_mass_kg": 1.5}])).replace(b"1.5", b"Infinity"),
            id="Infinity",
        ),
        pytest.param(
            encode(filing(goods=[{"gross_mass_kg": 1.5}])).replace(b"1.5", b"-Infinity"),
            id="-Infinity",
        ),
        pytest.param(
            encode(filing(goods=[{"gross_mass_kg": 1.5}])).replace(b"1.5", b"1e400"),
            id="number beyond double in a known field",
        ),
        pytest.param(b"\xef\xbb\xbf" + encode(filing()), id="UTF-8 byte order mark"),
        pytest.param(
            encode(filing(declarant={"name": "X"})).replace(b'"X"', b'"\\ud800"'),
            id="lone surrogate escape",
        ),
    ],
)
def test_invalid_json(raw: bytes) -> None:
    failure = rejected(raw)
    assert failure.code == "INVALID_JSON"
    assert failure.path is None


def test_empty_message_says_so() -> None:
    assert rejected(b"").message == "the message is empty"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(encode(filing(declarant={"name": "X"})).replace(b'"X"', b'"\xff"'), id="ff"),
        pytest.param(
            encode(filing(declarant={"name": "X"})).replace(b'"X"', b'"\xc3\x28"'),
            id="bad continuation",
        ),
        pytest.param(
            encode(filing(declarant={"name": "X"})).replace(b'"X"', b'"\xed\xa0\x80"'),
            id="encoded surrogate",
        ),
        pytest.param(b"{\xff", id="bad UTF-8 and bad JSON"),
        pytest.param(json.dumps(filing()).encode("utf-16"), id="UTF-16"),
        pytest.param(
            json.dumps(filing(declarant={"name": "Müller"}), ensure_ascii=False).encode("latin-1"),
            id="Latin-1",
        ),
    ],
)
def test_bytes_that_are_not_utf8_are_an_encoding_error(raw: bytes) -> None:
    failure = rejected(raw)
    assert failure.code == "ENCODING"
    assert failure.path is None


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(encode(filing(x_note="X")).replace(b'"X"', b'"\xff"'), id="value"),
        pytest.param(encode(filing(x_note="X")).replace(b'"x_note"', b'"x_\xff"'), id="key"),
    ],
)
def test_invalid_utf8_in_an_unknown_field_is_an_encoding_error(raw: bytes) -> None:
    assert decode(raw) == DecodeFailure("ENCODING", "the message is not valid UTF-8", None)


def test_oversized_message_is_too_large() -> None:
    raw = encode(filing())
    failure = rejected(raw, max_bytes=len(raw) - 1)
    assert failure.code == "TOO_LARGE"
    assert str(len(raw)) in failure.message
    assert failure.path is None


def test_size_is_checked_before_parsing() -> None:
    assert rejected(b"\xff" * 200, max_bytes=100).code == "TOO_LARGE"
    assert rejected(b"[" * 200, max_bytes=100).code == "TOO_LARGE"


# --- rejected: SCHEMA, with the path of the offending field -------------------------------------


@pytest.mark.parametrize(
    ("document", "path"),
    [
        pytest.param(filing(version="1"), "$.version", id="version as text"),
        pytest.param(filing(version=1.0), "$.version", id="version as float"),
        pytest.param(filing(version=0), "$.version", id="version 0"),
        pytest.param(filing(version=-1), "$.version", id="version negative"),
        pytest.param(filing(version=None), "$.version", id="version null"),
        pytest.param(filing(version=10**30), "$.version", id="version huge"),
        pytest.param(filing(version=-(10**30)), "$.version", id="version huge negative"),
        pytest.param(filing(version=2**63), "$.version", id="version 2**63"),
        pytest.param(filing(version=2**64), "$.version", id="version 2**64"),
        pytest.param(filing(version=2**31), "$.version", id="version 2**31"),
        pytest.param(filing(declaration_id="DE/1"), "$.declaration_id", id="id slash"),
        pytest.param(filing(declaration_id="DE 1"), "$.declaration_id", id="id space"),
        pytest.param(filing(declaration_id="DE.1"), "$.declaration_id", id="id dot"),
        pytest.param(filing(declaration_id="DÉ1"), "$.declaration_id", id="id non-ascii"),
        pytest.param(filing(declaration_id="D" * 65), "$.declaration_id", id="id 65 chars"),
        pytest.param(filing(declaration_id=""), "$.declaration_id", id="id empty"),
        pytest.param(filing(declaration_id=123), "$.declaration_id", id="id number"),
        pytest.param(filing(message_type="CANCELLATION"), "$.message_type", id="type unknown"),
        pytest.param(filing(message_type="filing"), "$.message_type", id="type lower case"),
        pytest.param(
            filing(submitted_at="2026-11-27T15:04:05"), "$.submitted_at", id="naive timestamp"
        ),
        pytest.param(filing(submitted_at="2026-11-27"), "$.submitted_at", id="date only"),
        pytest.param(filing(submitted_at="yesterday"), "$.submitted_at", id="not a timestamp"),
        pytest.param(filing(submitted_at=1764255845), "$.submitted_at", id="epoch seconds"),
        pytest.param(filing(goods=[{"hs_code": "85171"}]), "$.goods[0].hs_code", id="hs 5 digits"),
        pytest.param(
            filing(goods=[{"hs_code": "85171200001"}]), "$.goods[0].hs_code", id="hs 11 digits"
        ),
        pytest.param(
            filing(goods=[{"hs_code": "8517.12"}]), "$.goods[0].hs_code", id="hs with a dot"
        ),
        pytest.param(filing(goods=[{"hs_code": 851712}]), "$.goods[0].hs_code", id="hs number"),
        pytest.param(
            filing(goods=[{"hs_code": "851712"}, {"packages": 10**30}]),
            "$.goods[1].packages",
            id="huge integer in goods",
        ),
        pytest.param(
            filing(goods=[{"packages": -1}]), "$.goods[0].packages", id="negative packages"
        ),
        pytest.param(
            filing(goods=[{"gross_mass_kg": "12"}]),
            "$.goods[0].gross_mass_kg",
            id="mass as text",
        ),
        pytest.param(filing(goods=[{"un_number": "3480"}]), "$.goods[0].un_number", id="UN number"),
        pytest.param(
            filing(goods=[{"value": {"amount": 1, "currency": "euro"}}]),
            "$.goods[0].value.currency",
            id="currency",
        ),
        pytest.param(filing(goods={"hs_code": "851712"}), "$.goods", id="goods an object"),
        pytest.param(filing(goods=[{}] * 1001), "$.goods", id="1001 goods"),
        pytest.param(filing(declarant={"ids": []}), "$.declarant", id="party without name"),
        pytest.param(filing(declarant="ACME"), "$.declarant", id="party as text"),
        pytest.param(
            filing(declarant={"name": "A", "ids": [{"scheme": "DUNS", "value": "1"}]}),
            "$.declarant.ids[0].scheme",
            id="unknown id scheme",
        ),
        pytest.param(
            filing(consignee={"name": "C", "address": {"country": "DEU"}}),
            "$.consignee.address.country",
            id="alpha-3 country",
        ),
        pytest.param(
            filing(consignee={"name": "C", "address": {"po_box": "yes"}}),
            "$.consignee.address.po_box",
            id="po_box as text",
        ),
        pytest.param(filing(transport={"mode": "SPACE"}), "$.transport.mode", id="mode"),
        pytest.param(
            filing(transport={"loading_location": "Shanghai"}),
            "$.transport.loading_location",
            id="locode",
        ),
        pytest.param(
            filing(transport={"routing_countries": "CN,DE"}),
            "$.transport.routing_countries",
            id="routing as text",
        ),
        pytest.param(
            filing(transport_document={"type": "AWB"}), "$.transport_document.type", id="doc type"
        ),
        pytest.param(
            filing(equipment=[{"seals": []}]), "$.equipment[0]", id="equipment no container"
        ),
        pytest.param(filing(totals={"packages": 1.5}), "$.totals.packages", id="totals float"),
    ],
)
def test_schema_error_names_the_offending_field(document: dict[str, Any], path: str) -> None:
    failure = rejected(encode(document))
    assert (failure.code, failure.path) == ("SCHEMA", path), failure.message
    assert " - at `" not in failure.message  # the path is split off the message


@pytest.mark.parametrize(
    ("document", "path"),
    [
        pytest.param(filing(declaration_id="D1\n"), "$.declaration_id", id="id"),
        pytest.param(filing(declaration_id="D" * 64 + "\n"), "$.declaration_id", id="id 65"),
        pytest.param(filing(goods=[{"hs_code": "930690\n"}]), "$.goods[0].hs_code", id="hs"),
        pytest.param(
            filing(goods=[{"origin_country": "IR\n"}]), "$.goods[0].origin_country", id="country"
        ),
        pytest.param(
            filing(transport={"loading_location": "IRBND\n"}),
            "$.transport.loading_location",
            id="locode",
        ),
        pytest.param(
            filing(goods=[{"value": {"amount": 1, "currency": "EUR\n"}}]),
            "$.goods[0].value.currency",
            id="currency",
        ),
        pytest.param(
            filing(goods=[{"un_number": "UN0081\n"}]), "$.goods[0].un_number", id="UN number"
        ),
    ],
)
def test_trailing_newline_does_not_satisfy_a_pattern(document: dict[str, Any], path: str) -> None:
    failure = rejected(encode(document))
    assert (failure.code, failure.path) == ("SCHEMA", path)


@pytest.mark.parametrize("field", ["declaration_id", "version", "message_type", "submitted_at"])
def test_missing_required_field_is_named(field: str) -> None:
    failure = rejected(encode(without(filing(), field)))
    assert (failure.code, failure.path) == ("SCHEMA", "$")
    assert f"`{field}`" in failure.message


@pytest.mark.parametrize("message_type", ["FILING", "AMENDMENT"])
@pytest.mark.parametrize("field", ["declarant", "consignor", "consignee", "goods"])
def test_filing_and_amendment_need_parties_and_goods(message_type: str, field: str) -> None:
    document = filing(message_type=message_type)
    for broken in (without(document, field), {**document, field: None}):
        failure = rejected(encode(broken))
        assert (failure.code, failure.path) == ("SCHEMA", "$")
        assert f"`{field}`" in failure.message
        assert message_type in failure.message


@pytest.mark.parametrize("count", [0, 1000])
def test_goods_outside_1_to_999_are_rejected(count: int) -> None:
    failure = rejected(encode(filing(goods=[{"hs_code": "851712"}] * count)))
    assert (failure.code, failure.path) == ("SCHEMA", "$.goods")
    assert f"got {count}" in failure.message


def test_invalidation_still_needs_the_first_four_fields() -> None:
    invalidation = {
        "declaration_id": "D1",
        "version": 2,
        "message_type": "INVALIDATION",
        "submitted_at": "2026-11-27T16:00:00Z",
    }
    for field in invalidation:
        assert rejected(encode(without(invalidation, field))).code == "SCHEMA"
    assert rejected(encode({**invalidation, "version": 0})).path == "$.version"


# --- hostile input: never raises, always one answer ---------------------------------------------


def test_deep_nesting_is_rejected_without_raising() -> None:
    failure = rejected(nested(10_000))
    assert failure.code == "INVALID_JSON"


def test_deep_nesting_inside_an_object_is_rejected_without_raising() -> None:
    raw = encode(filing(x_deep=0)).replace(b'"x_deep": 0', b'"x_deep": ' + nested(10_000))
    assert rejected(raw).code == "INVALID_JSON"
    objects = b'{"a": ' * 10_000 + b"1" + b"}" * 10_000
    assert rejected(objects).code == "INVALID_JSON"


def test_nesting_between_the_two_parsers_limits_gets_the_same_code_as_deeper_nesting() -> None:
    raw = encode(filing(x_deep=0)).replace(b'"x_deep": 0', b'"x_deep": ' + nested(1_000))
    assert rejected(raw).code == rejected(nested(10_000)).code


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00" * 64,
        b"{" * 5000,
        b'{"declaration_id": ' * 3000,
        b'"' * 1000,
        b"-" * 100,
        b"1" * 5000,
        b"[" * 100_000,
        "\u2028".encode() * 10,
    ],
    ids=["nuls", "braces", "keys", "quotes", "minus", "digits", "brackets", "separators"],
)
def test_garbage_is_rejected_not_raised(raw: bytes) -> None:
    assert isinstance(decode(raw, max_bytes=10_000_000), DecodeFailure)
