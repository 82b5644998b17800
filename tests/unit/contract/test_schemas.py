"""The shipped JSON Schema files: generated from the structs, valid, and faithful to contract.md."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from pipeline.contract import models, schemas
from pipeline.screening.decode import decode_declaration

REPO_ROOT = Path(__file__).resolve().parents[3]
CONTRACT_MD = REPO_ROOT.parent / "shared" / "design" / "contract.md"
SHIPPED = REPO_ROOT / "pipeline" / "contract" / "schemas"
EXPECTED_FILES = {
    "declaration.json",
    "assessment.json",
    "hit.json",
    "rejection.json",
    "notice.json",
    "referral_response.json",
    "aeo_record.json",
    "watchlist_entry.json",
    "examination_result.json",
    "partner_message.json",
}

# --- the contract's field names, hard-coded so that these tests run without contract.md -----------
# Keys: (schema file stem, the $defs entry the names live under, or None for the root).
# A dotted name is a path from there; a plain name must be a property reachable from there
# (contract.md lists nested fields in prose, e.g. Party's `street` inside `address`).

_ASSESSMENT_FIELDS = (
    "declaration_id",
    "version",
    "outcome",
    "score",
    "matches",
    "shadow_matches",
    "parties",
    "role",
    "operator_id",
    "aeo_type",
    "status",
    "source",
    "ruleset_version",
    "submitted_at",
    "assessed_at",
    "superseded_versions",
)
_MATCH_FIELDS = ("rule_id", "rule_version", "action", "score", "reason", "evidence")

CONTRACT_FIELDS: dict[tuple[str, str | None], frozenset[str]] = {
    ("declaration", None): frozenset(
        {
            "declaration_id",
            "version",
            "message_type",
            "submitted_at",
            "declarant",
            "transport.mode",
            "transport.carrier",
            "transport.conveyance_ref",
            "transport.loading_location",
            "transport.discharge_location",
            "transport.routing_countries",
            "transport.estimated_loading_at",
            "transport.estimated_arrival_at",
            "transport_document.type",
            "transport_document.number",
            "consignor",
            "consignee",
            "notify_party",
            "equipment",
            "equipment.container_id",
            "equipment.seals",
            "goods",
            "totals.packages",
            "totals.gross_mass_kg",
            # Version 1.1's optional fields.
            "filer_id",
            "ucr",
            "place_of_receipt",
            "transport.vessel",
            "transport.vessel.name",
            "transport.vessel.imo",
            "transport.vessel.flag",
            "transport_document.master_number",
        }
    ),
    ("declaration", "Party"): frozenset(
        {
            "name",
            "ids",
            "scheme",
            "value",
            "address",
            "street",
            "city",
            "postcode",
            "country",
            "po_box",
            "contact",
            "phone",
            "email",
        }
    ),
    ("declaration", "GoodsItem"): frozenset(
        {
            "seq",
            "hs_code",
            "description",
            "packages",
            "package_type",
            "gross_mass_kg",
            "origin_country",
            "un_number",
            "container_ids",
            "value",
            "amount",
            "currency",
        }
    ),
    ("assessment", None): frozenset(_ASSESSMENT_FIELDS),
    ("assessment", "Match"): frozenset(_MATCH_FIELDS),
    # A hit is "the Assessment's fields ... plus priority and a short summary".
    ("hit", None): frozenset({*_ASSESSMENT_FIELDS, "priority", "summary"}),
    ("hit", "Match"): frozenset(_MATCH_FIELDS),
    ("rejection", None): frozenset(
        {
            "error.code",
            "error.message",
            "error.path",
            "source.topic",
            "source.partition",
            "source.offset",
            "received_at",
            "original",
        }
    ),
    ("aeo_record", None): frozenset(
        {
            "operator_id",
            "scheme",
            "name",
            "country",
            "aeo_type",
            "status",
            "valid_from",
            "valid_to",
            "mra_partner",
        }
    ),
    ("watchlist_entry", None): frozenset(
        {
            "entry_id",
            "name",
            "aliases",
            "country",
            "ids",
            "scheme",
            "value",
            "list",
            "action",
            "reason",
        }
    ),
    ("examination_result", None): frozenset(
        {"declaration_id", "version", "result", "examined_at", "officer_ref"}
    ),
    # Version 1.1.
    ("notice", None): frozenset(
        {
            "filer_id",
            "declaration_id",
            "version",
            "kind",
            "notice_id",
            "issued_at",
            "text",
            "errors",
            "path",
            "message",
        }
    ),
    ("referral_response", None): frozenset(
        {
            "declaration_id",
            "version",
            "filer_id",
            "kind",
            "submitted_at",
            "text",
            "method",
            "result",
        }
    ),
    ("partner_message", None): frozenset(
        {
            "message_id",
            "kind",
            "from_administration",
            "to_administration",
            "ucr",
            "declaration_ref",
            "transport_document_number",
            "container_ids",
            "level",
            "categories",
            "summary",
            "handling",
            "sent_at",
        }
    ),
}

# --- reading contract.md --------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")
_BACKTICKED = re.compile(r"`([^`]+)`")
_SECTION_SCHEMA = {
    "Declaration": "declaration",
    "Assessment": "assessment",
    "Hit": "hit",
    "Rejection": "rejection",
    "AeoRecord": "aeo_record",
    "WatchlistEntry": "watchlist_entry",
    "ExaminationResult": "examination_result",
}
# A paragraph that opens with one of these describes a nested type of its section.
_NESTED = ("Party", "GoodsItem", "Match")
# Types described in a paragraph of their own under another heading (version 1.1's "New
# topics").
_PARAGRAPH_SCHEMA = {
    "Notice": "notice",
    "ReferralResponse": "referral_response",
    "PartnerMessage": "partner_message",
}


def _names_in(text: str) -> Iterator[str]:
    """Field names quoted in ``text``: `name`, `a.b`, and the members of `{a, b: [string]}`
    and of `[{a, b}]`."""
    for quoted in _BACKTICKED.findall(text):
        inner = quoted.strip()
        if inner.startswith("[{") and inner.endswith("}]"):
            inner = inner[1:-1]
        if inner.startswith("{") and inner.endswith("}"):
            for member in inner[1:-1].split(","):
                candidate = member.split(":")[0].strip()
                if _IDENTIFIER.match(candidate):
                    yield candidate
        elif _IDENTIFIER.match(inner) and not inner.startswith("customs."):  # not a topic
            yield inner


def _table_names(table: list[str]) -> Iterator[str]:
    for row in table[2:]:  # after the header and the |---| line
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        names = list(_names_in(cells[0]))
        yield from names
        for member in _names_in(cells[1]) if "{" in cells[1] else ():
            yield from (f"{name}.{member}" for name in names)


def parse_contract(text: str) -> dict[tuple[str, str | None], frozenset[str]]:
    found: dict[tuple[str, str | None], set[str]] = {}
    for section in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        heading, _, body = section.partition("\n")
        # "Declaration: optional fields" (version 1.1) adds to the Declaration.
        title = heading.split()[0].rstrip(":") if heading.strip() else ""
        schema = _SECTION_SCHEMA.get(title)
        for block in re.split(r"\n\s*\n", body):
            lines = block.strip().splitlines()
            if not lines:
                continue
            own = next(
                (s for t, s in _PARAGRAPH_SCHEMA.items() if lines[0].startswith(f"{t}:")), None
            )
            if own is not None:
                found.setdefault((own, None), set()).update(_names_in(block))
                continue
            # A paragraph about another section's type (version 1.1: "WatchlistEntry `ids` may
            # use the scheme `IMO`") names fields of that type, already listed there.
            about_other = lines[0].split()[0] in set(_SECTION_SCHEMA) - {title}
            if schema is None or lines[0].startswith("CSV") or about_other:
                continue
            if lines[0].startswith("|"):
                found.setdefault((schema, None), set()).update(_table_names(lines))
                continue
            nested = next((n for n in _NESTED if lines[0].startswith(f"{n}:")), None)
            found.setdefault((schema, nested), set()).update(_names_in(block))
    assessment = found.get(("assessment", None), set())
    found.setdefault(("hit", None), set()).update(assessment)
    if ("assessment", "Match") in found:
        found[("hit", "Match")] = set(found[("assessment", "Match")])
    return {key: frozenset(names) for key, names in found.items() if names}


@pytest.fixture(scope="module")
def contract_fields() -> dict[tuple[str, str | None], frozenset[str]]:
    if not CONTRACT_MD.is_file():
        pytest.skip(f"contract.md not found at {CONTRACT_MD}; the hard-coded list is checked")
    return parse_contract(CONTRACT_MD.read_text(encoding="utf-8"))


# --- walking a schema -----------------------------------------------------------------------------


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def _alternatives(schema: dict[str, Any], node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``node`` and what it may be: anyOf options, array items, referenced definitions."""
    node = _resolve(schema, node)
    yield node
    for option in node.get("anyOf", []):
        yield from _alternatives(schema, option)
    if isinstance(node.get("items"), dict):
        yield from _alternatives(schema, node["items"])


def _child(schema: dict[str, Any], node: dict[str, Any], name: str) -> dict[str, Any] | None:
    for alternative in _alternatives(schema, node):
        if name in alternative.get("properties", {}):
            child: dict[str, Any] = alternative["properties"][name]
            return child
    return None


def _reachable_properties(schema: dict[str, Any], start: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            walk(_resolve(schema, node))
        properties = node.get("properties")
        if isinstance(properties, dict):
            names.update(properties)
        for key, value in node.items():
            if key != "$defs":
                walk(value)

    walk(start)
    return names


def field_present(schema: dict[str, Any], start: str | None, name: str) -> bool:
    node = schema if start is None else schema["$defs"][start]
    if "." not in name:
        return name in _reachable_properties(schema, node)
    current: dict[str, Any] | None = node
    for part in name.split("."):
        current = _child(schema, current, part) if current is not None else None
    return current is not None


# --- format checking: jsonschema checks date-time only with an optional extra ---------------------

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)
FORMATS = FormatChecker()


@FORMATS.checks("date-time")
def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schemas.load_schema(name), format_checker=FORMATS)


def errors(name: str, document: Any) -> list[str]:
    return [error.message for error in validator(name).iter_errors(document)]


# --- samples --------------------------------------------------------------------------------------


def sample_declaration(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "declaration_id": "DE-2026-000123",
        "version": 1,
        "message_type": "FILING",
        "submitted_at": "2026-11-27T15:04:05.123Z",
        "declarant": {
            "name": "Fast Forwarding GmbH",
            "ids": [{"scheme": "EORI", "value": "DE123456789012345"}],
            "address": {"street": "Hafenstr. 1", "city": "Hamburg", "country": "DE"},
            "contact": {"phone": "+49 40 123456", "email": "ops@example.org"},
        },
        "transport": {
            "mode": "AIR",
            "carrier": {"name": "Example Air"},
            "conveyance_ref": "XA1234",
            "loading_location": "CNPVG",
            "discharge_location": "DEFRA",
            "routing_countries": ["CN", "DE"],
            "estimated_loading_at": "2026-11-28T02:00:00Z",
            "estimated_arrival_at": "2026-11-28T14:00:00+01:00",
        },
        "transport_document": {"type": "MAWB", "number": "123-45678901"},
        "consignor": {"name": "Shanghai Electronics Ltd", "address": {"country": "CN"}},
        "consignee": {"name": "Berlin Retail AG", "address": {"country": "DE", "po_box": False}},
        "notify_party": None,
        "equipment": [{"container_id": "CSQU3054383", "seals": ["SEAL1"]}],
        "goods": [
            {
                "seq": 1,
                "hs_code": "8517120000",
                "description": "mobile phones",
                "packages": 10,
                "package_type": "CT",
                "gross_mass_kg": 120.5,
                "origin_country": "CN",
                "un_number": "UN3480",
                "container_ids": ["CSQU3054383"],
                "value": {"amount": 25000, "currency": "EUR"},
            }
        ],
        "totals": {"packages": 10, "gross_mass_kg": 120.5},
    }
    document.update(changes)
    return document


def _without(document: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in fields}


INVALIDATION = {
    "declaration_id": "DE-2026-000123",
    "version": 2,
    "message_type": "INVALIDATION",
    "submitted_at": "2026-11-27T16:00:00Z",
}

VALID_DECLARATIONS: dict[str, dict[str, Any]] = {
    "full filing": sample_declaration(),
    "amendment": sample_declaration(version=2, message_type="AMENDMENT"),
    "minimal filing": {
        **INVALIDATION,
        "message_type": "FILING",
        "declarant": {"name": "A"},
        "consignor": {"name": "B"},
        "consignee": {"name": "C"},
        "goods": [{}],
    },
    "invalidation with the four fields only": INVALIDATION,
    "unknown fields": sample_declaration(x_extension={"anything": [1, 2]}),
    "999 goods": sample_declaration(goods=[{"hs_code": "851712"}] * 999),
    "offset timestamp": sample_declaration(submitted_at="2026-11-27T17:04:05+02:00"),
    "version 1.1 fields": sample_declaration(
        filer_id="DE123456789012345",
        ucr="6DE123456789-0000123",
        place_of_receipt="CNSZX",
        transport={
            "mode": "SEA",
            "vessel": {"name": "MSC ANNA", "imo": "9123456", "flag": "PA"},
        },
        transport_document={"type": "HBL", "number": "HB1", "master_number": "MEDU1234567"},
    ),
    # A wrong check digit is a finding for the rules, not a rejection.
    "IMO number with a wrong check digit": sample_declaration(
        transport={"mode": "SEA", "vessel": {"name": "X", "imo": "9123450", "flag": "PA"}}
    ),
    "null vessel and master number": sample_declaration(
        transport={"mode": "AIR", "vessel": None},
        transport_document={"type": "MAWB", "number": "1", "master_number": None},
    ),
}

INVALID_DECLARATIONS: dict[str, Any] = {
    "FILING without goods": _without(sample_declaration(), "goods"),
    "FILING with null goods": sample_declaration(goods=None),
    "FILING with 0 goods": sample_declaration(goods=[]),
    "FILING with 1000 goods": sample_declaration(goods=[{}] * 1000),
    "FILING without declarant": _without(sample_declaration(), "declarant"),
    "FILING with null declarant": sample_declaration(declarant=None),
    "AMENDMENT without consignee": _without(
        sample_declaration(message_type="AMENDMENT"), "consignee"
    ),
    "AMENDMENT without consignor": _without(
        sample_declaration(message_type="AMENDMENT"), "consignor"
    ),
    "no version": _without(sample_declaration(), "version"),
    "version 0": sample_declaration(version=0),
    "version as text": sample_declaration(version="1"),
    "unknown message_type": sample_declaration(message_type="CANCELLATION"),
    "no submitted_at": _without(sample_declaration(), "submitted_at"),
    "naive timestamp": sample_declaration(submitted_at="2026-11-27T15:04:05"),
    "declaration_id with a slash": sample_declaration(declaration_id="DE/1"),
    "declaration_id of 65 characters": sample_declaration(declaration_id="D" * 65),
    "empty declaration_id": sample_declaration(declaration_id=""),
    "hs_code of 5 digits": sample_declaration(goods=[{"hs_code": "85171"}]),
    "hs_code as a number": sample_declaration(goods=[{"hs_code": 851712}]),
    "party without name": sample_declaration(consignor={"ids": []}),
    "unknown id scheme": sample_declaration(
        declarant={"name": "A", "ids": [{"scheme": "DUNS", "value": "1"}]}
    ),
    "lower-case country": sample_declaration(consignee={"name": "C", "address": {"country": "de"}}),
    "bad transport mode": sample_declaration(transport={"mode": "SPACE"}),
    "bad UN number": sample_declaration(goods=[{"un_number": "3480"}]),
    "filer_id as a number": sample_declaration(filer_id=123),
    "place_of_receipt of 4 characters": sample_declaration(place_of_receipt="CNSZ"),
    "lower-case vessel flag": sample_declaration(transport={"vessel": {"flag": "pa"}}),
    "IMO number of 33 characters": sample_declaration(transport={"vessel": {"imo": "9" * 33}}),
    "vessel as a string": sample_declaration(transport={"vessel": "MSC ANNA"}),
    "master_number as a number": sample_declaration(transport_document={"master_number": 1}),
    "not an object": [sample_declaration()],
}


# --- the files ------------------------------------------------------------------------------------


def test_shipped_files_are_the_generated_ones() -> None:
    assert {p.name for p in SHIPPED.iterdir() if p.suffix == ".json"} == EXPECTED_FILES
    for name in schemas.NAMES:
        shipped = (SHIPPED / f"{name}.json").read_text(encoding="utf-8")
        assert shipped == schemas.render(schemas.generate(name)), (
            f"{name}.json is stale: run python -m pipeline.contract.schemas"
        )


def test_names_are_the_expected_files() -> None:
    assert {f"{name}.json" for name in schemas.NAMES} == EXPECTED_FILES


def test_files_are_pretty_printed_with_sorted_keys_and_a_final_newline() -> None:
    for path in SHIPPED.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        pretty = json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False)
        assert text == pretty + "\n"


@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_each_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = schemas.load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://schemas.customs-screening.org/v1/{name}"
    assert schema["title"]
    assert schema["description"]
    assert schema["type"] == "object"


def test_every_reference_resolves() -> None:
    for name in schemas.NAMES:
        schema = schemas.load_schema(name)
        refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(schema))
        for ref in refs:
            assert ref.startswith("#/$defs/"), ref
            assert ref.removeprefix("#/$defs/") in schema.get("$defs", {}), (name, ref)


def test_load_schema_accepts_the_file_name_and_refuses_unknown_names() -> None:
    assert schemas.load_schema("hit.json") == schemas.load_schema("hit")
    with pytest.raises(KeyError, match="no schema named 'rule'"):
        schemas.load_schema("rule")


def test_generation_is_stable_and_does_not_share_state() -> None:
    first = schemas.generate("declaration")
    first["properties"].clear()
    assert schemas.generate("declaration") == schemas.load_schema("declaration")


def test_export_writes_every_file(tmp_path: Path) -> None:
    written = schemas.export(tmp_path / "out")
    assert {p.name for p in written} == EXPECTED_FILES
    for path in written:
        assert path.read_bytes() == (SHIPPED / path.name).read_bytes()


def test_module_entry_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert schemas.main([str(tmp_path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(EXPECTED_FILES)
    assert schemas.main(["--check", str(tmp_path)]) == 0
    (tmp_path / "hit.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "rejection.json").unlink()
    assert schemas.main(["--check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "hit.json is out of date" in out
    assert "rejection.json is out of date" in out
    assert schemas.main(["--check"]) == 0  # the shipped files


# --- what msgspec cannot say, said in the schema --------------------------------------------------


def test_declaration_goods_bound_is_the_contracts_not_the_structs() -> None:
    schema = schemas.load_schema("declaration")
    goods = schema["properties"]["goods"]["anyOf"][0]
    assert goods["maxItems"] == 999
    (rule,) = schema["allOf"]
    assert rule["if"]["properties"]["message_type"] == {"enum": ["FILING", "AMENDMENT"]}
    assert rule["then"]["required"] == ["declarant", "consignor", "consignee", "goods"]
    assert rule["then"]["properties"]["goods"] == {"type": "array", "minItems": 1, "maxItems": 999}


def test_output_timestamps_are_date_times() -> None:
    for name, fields in {
        "assessment": ("submitted_at", "assessed_at"),
        "hit": ("submitted_at", "assessed_at"),
        "rejection": ("received_at",),
        "notice": ("issued_at",),
        "referral_response": ("submitted_at",),
        "declaration": ("submitted_at",),
    }.items():
        properties = schemas.load_schema(name)["properties"]
        for field_name in fields:
            assert properties[field_name]["format"] == "date-time", (name, field_name)


# --- contract.md and the schemas agree ------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema_name", "start", "name"),
    [
        (s, d, n)
        for (s, d), names in sorted(CONTRACT_FIELDS.items(), key=str)
        for n in sorted(names)
    ],
)
def test_contract_field_is_in_the_schema(schema_name: str, start: str | None, name: str) -> None:
    assert field_present(schemas.load_schema(schema_name), start, name)


def test_hard_coded_field_list_matches_contract_md(
    contract_fields: dict[tuple[str, str | None], frozenset[str]],
) -> None:
    assert contract_fields == CONTRACT_FIELDS


def test_every_field_of_contract_md_is_in_the_schemas(
    contract_fields: dict[tuple[str, str | None], frozenset[str]],
) -> None:
    missing = [
        (schema_name, start, name)
        for (schema_name, start), names in contract_fields.items()
        for name in sorted(names)
        if not field_present(schemas.load_schema(schema_name), start, name)
    ]
    assert missing == []


def test_field_check_notices_a_missing_field() -> None:
    schema = copy.deepcopy(schemas.load_schema("declaration"))
    assert field_present(schema, None, "transport.mode")
    assert field_present(schema, "Party", "po_box")
    del schema["$defs"]["Transport"]["properties"]["mode"]
    del schema["$defs"]["Address"]["properties"]["po_box"]
    assert not field_present(schema, None, "transport.mode")
    assert not field_present(schema, "Party", "po_box")
    assert not field_present(schema, None, "transport.no_such_field")


def test_contract_parser_reads_version_1_1_additions() -> None:
    text = (
        "## Declaration: optional fields\n\n| field | type | rule |\n|---|---|---|\n"
        "| `filer_id` | string | keyed by it (`HAWB`) |\n"
        "| `transport.vessel` | `{name, imo}` or null | |\n\n"
        "WatchlistEntry `ids` may use the scheme `IMO`: `transport.vessel.imo` matches.\n\n"
        "## New topics\n\n| topic | key |\n|---|---|\n| `customs.x.v1` | `filer_id` |\n\n"
        "Notice: `filer_id`, `kind` (`REJECTED`), `errors`: `[{path, message}]`.\n\n"
        "ReferralResponse: `declaration_id`, `method`.\n"
    )
    assert parse_contract(text) == {
        ("declaration", None): frozenset(
            {"filer_id", "transport.vessel", "transport.vessel.name", "transport.vessel.imo"}
        ),
        ("notice", None): frozenset({"filer_id", "kind", "errors", "path", "message"}),
        ("referral_response", None): frozenset({"declaration_id", "method"}),
    }


def test_contract_parser_reads_tables_and_prose() -> None:
    text = (
        "## Declaration (x)\n\n| field | type | rule |\n|---|---|---|\n"
        "| `a`, `b` | string | `FILING` |\n| `t.mode` | string | |\n"
        "| `eq` | array of `{cid, seals: [string]}` | |\n\n"
        "Party: `name` (string), `ids` (array of `{scheme, value}`; scheme one of `EORI`).\n\n"
        "## Hit (y)\n\nThe fields plus `priority`, published to `customs.targeting.hits.v1`.\n\n"
        "## AeoRecord\n\n`operator_id`, `status` (`ACTIVE`).\n\nCSV for the loader: `x,y`.\n"
    )
    assert parse_contract(text) == {
        ("declaration", None): frozenset({"a", "b", "t.mode", "eq", "eq.cid", "eq.seals"}),
        ("declaration", "Party"): frozenset({"name", "ids", "scheme", "value"}),
        ("hit", None): frozenset({"priority"}),
        ("aeo_record", None): frozenset({"operator_id", "status"}),
    }


# --- documents against the schemas ----------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(VALID_DECLARATIONS))
def test_valid_declaration_validates(case: str) -> None:
    assert errors("declaration", VALID_DECLARATIONS[case]) == []


@pytest.mark.parametrize("case", sorted(INVALID_DECLARATIONS))
def test_broken_declaration_does_not_validate(case: str) -> None:
    assert errors("declaration", INVALID_DECLARATIONS[case]) != []


@pytest.mark.parametrize(
    "document",
    [pytest.param(d, id=f"valid: {k}") for k, d in sorted(VALID_DECLARATIONS.items())]
    + [pytest.param(d, id=f"invalid: {k}") for k, d in sorted(INVALID_DECLARATIONS.items())],
)
def test_schema_and_decoder_agree(document: Any) -> None:
    decoded = decode_declaration(json.dumps(document).encode(), max_bytes=10_000_000)
    assert isinstance(decoded, models.Declaration) == (errors("declaration", document) == [])


def _assessment(**changes: Any) -> dict[str, Any]:
    match = {
        "rule_id": "R-1",
        "rule_version": 3,
        "action": "HRCM",
        "score": 60.0,
        "reason": "arms declared",
        "evidence": {"goods[0].hs_code": "930690"},
    }
    document: dict[str, Any] = {
        "declaration_id": "D1",
        "version": 1,
        "outcome": "HRCM",
        "score": 60.0,
        "matches": [match],
        "shadow_matches": [],
        "parties": [
            {
                "role": "declarant",
                "operator_id": "DEAEOC1",
                "aeo_type": "AEOC",
                "status": "ACTIVE",
                "source": "REGISTRY",
            }
        ],
        "ruleset_version": "2026.11.1",
        "submitted_at": "2026-11-27T15:04:05Z",
        "assessed_at": "2026-11-27T15:04:06.5Z",
        "superseded_versions": [],
    }
    document.update(changes)
    return document


def test_invalidated_assessment_has_no_matches() -> None:
    match = _assessment()["matches"][0]
    invalidated = _assessment(outcome="INVALIDATED", score=0.0, matches=[], parties=[])
    assert errors("assessment", invalidated) == []
    assert errors("assessment", {**invalidated, "matches": [match]}) != []
    assert errors("assessment", {**invalidated, "shadow_matches": [match]}) != []
    assert errors("assessment", _assessment()) == []
    assert errors("assessment", _assessment(outcome="REFERRED")) != []
    assert errors("assessment", _assessment(assessed_at="yesterday")) != []


def test_hit_is_a_referral_with_a_priority() -> None:
    hit = {**_assessment(), "priority": 2, "summary": "HRCM (score 60): arms declared"}
    assert errors("hit", hit) == []
    assert errors("hit", {**hit, "outcome": "ASSESSMENT_COMPLETE"}) != []
    assert errors("hit", {**hit, "priority": 0}) != []
    assert errors("hit", _without(hit, "summary")) != []


def test_hit_carries_the_declaration_as_a_declaration() -> None:
    hit = {**_assessment(), "priority": 2, "summary": "HRCM (score 60): arms declared"}
    filed = sample_declaration(x_extension={"anything": [1, 2]})
    assert errors("hit", {**hit, "declaration": filed}) == []
    assert errors("hit", {**hit, "declaration": INVALIDATION}) == []
    assert errors("hit", hit) == []  # hits published before the field was added
    assert errors("hit", {**hit, "declaration": "{}"}) != []  # embedded, not a string of JSON
    assert errors("hit", {**hit, "declaration": _without(filed, "goods")}) != []
    assert errors("hit", {**hit, "declaration": sample_declaration(goods=[{}] * 1000)}) != []


def test_the_hit_embeds_the_complete_declaration_schema() -> None:
    hit = schemas.load_schema("hit")
    declaration = schemas.load_schema("declaration")
    assert hit["properties"]["declaration"]["$ref"] == "#/$defs/Declaration"
    assert "declaration" not in hit["required"]
    embedded = hit["$defs"]["Declaration"]
    assert "$id" not in embedded
    assert "$schema" not in embedded
    assert embedded["allOf"] == declaration["allOf"]  # the cross-field rules too
    assert embedded["properties"] == declaration["properties"]
    for name, definition in declaration["$defs"].items():
        assert hit["$defs"][name] == definition


def test_a_hit_with_its_declaration_round_trips_through_its_struct() -> None:
    filed = sample_declaration()
    raw = json.dumps(filed).encode()
    document = {**_assessment(), "priority": 2, "summary": "HRCM", "declaration": filed}
    decoded = msgspec.json.decode(json.dumps(document).encode(), type=models.Hit)
    assert isinstance(decoded.declaration, msgspec.Raw)
    assert json.loads(bytes(decoded.declaration)) == filed
    encoded = msgspec.json.encode(msgspec.structs.replace(decoded, declaration=msgspec.Raw(raw)))
    assert raw in encoded
    assert errors("hit", json.loads(encoded)) == []
    published_before = {**_assessment(), "priority": 2, "summary": "HRCM"}
    older = msgspec.json.decode(json.dumps(published_before).encode(), type=models.Hit)
    assert older.declaration is msgspec.UNSET
    assert "declaration" not in json.loads(msgspec.json.encode(older))


def _notice(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "filer_id": "DE123456789012345",
        "declaration_id": "D1",
        "version": 1,
        "kind": "HRCM",
        "notice_id": "7d6c1a52-5c2e-5a4b-9c41-0e1f2a3b4c5d",
        "issued_at": "2026-11-27T15:04:06.5Z",
        "text": "Have the consignment screened before loading.",
    }
    document.update(changes)
    return document


def test_notice_carries_errors_when_rejected_only() -> None:
    errors_ = [{"path": "$.goods[0].hs_code", "message": "must be 6 to 10 digits"}]
    assert errors("notice", _notice()) == []
    assert errors("notice", _notice(kind="REJECTED", version=0, errors=errors_)) == []
    assert errors("notice", _notice(kind="REJECTED")) != []  # a rejection says what was wrong
    assert errors("notice", _notice(errors=errors_)) != []
    assert errors("notice", _notice(kind="MAYBE")) != []
    assert errors("notice", _notice(issued_at="yesterday")) != []
    assert errors("notice", _without(_notice(), "filer_id")) != []
    assert errors("notice", _notice(kind="REJECTED", errors=[{"path": "$"}])) != []


def test_a_notice_round_trips_through_its_struct() -> None:
    rejected = _notice(kind="REJECTED", errors=[{"path": "$", "message": "must be an object"}])
    for document in (_notice(), rejected):
        decoded = msgspec.json.decode(json.dumps(document).encode(), type=models.Notice)
        encoded = json.loads(msgspec.json.encode(decoded))
        assert errors("notice", encoded) == []
        assert ("errors" in encoded) == (document["kind"] == "REJECTED")


def test_rejection_shape() -> None:
    rejection = {
        "error": {"code": "SCHEMA", "message": "Expected `int`", "path": "$.version"},
        "source": {"topic": "customs.declarations.v1", "partition": 3, "offset": 42},
        "received_at": "2026-11-27T15:04:05Z",
        "original": "e30=",
    }
    assert errors("rejection", rejection) == []
    assert errors("rejection", {**rejection, "key": "D1"}) == []
    bad_code = {**rejection, "error": {**rejection["error"], "code": "OTHER"}}
    assert errors("rejection", bad_code) != []
    assert errors("rejection", _without(rejection, "source")) != []


def _partner_message(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "message_id": "1b4e28ba-2fa1-5ad2-a0d1-3c1c0e4b6f1a",
        "kind": "RISK_FINDING",
        "from_administration": "DE",
        "to_administration": "CN",
        "ucr": "6DE123456789-2026-000123",
        "declaration_ref": "DE-2026-000123",
        "level": "HIGH",
        "categories": ["SANCTIONS"],
        "handling": "C2C-RESTRICTED",
        "sent_at": "2026-11-27T15:04:07Z",
    }
    document.update(changes)
    return document


def test_partner_message_rules_by_kind() -> None:
    assert errors("partner_message", _partner_message()) == []
    assert errors("partner_message", _without(_partner_message(), "level")) != []
    assert errors("partner_message", _partner_message(categories=[])) != []
    assert errors("partner_message", _partner_message(level="LOW")) != []
    assert errors("partner_message", _partner_message(result="SEIZURE")) != []
    assert errors("partner_message", _partner_message(to_administration="China")) != []
    result = _without(_partner_message(kind="EXAMINATION_RESULT"), "level", "categories")
    assert errors("partner_message", {**result, "result": "SEIZURE"}) == []
    assert errors("partner_message", result) != []  # a result says what was found


def test_a_partner_message_leaves_out_what_is_not_set() -> None:
    document = _partner_message()
    decoded = msgspec.json.decode(json.dumps(document).encode(), type=models.PartnerMessage)
    encoded = json.loads(msgspec.json.encode(decoded))
    assert encoded == document
    assert not {"container_ids", "summary", "transport_document_number"} & set(encoded)


# --- every struct's documents round-trip through its schema ---------------------------------------

STRUCT_SAMPLES: dict[str, tuple[type[msgspec.Struct], dict[str, Any]]] = {
    "declaration": (models.Declaration, sample_declaration()),
    "assessment": (models.Assessment, _assessment()),
    "hit": (models.Hit, {**_assessment(), "priority": 1, "summary": "DNL"}),
    "notice": (models.Notice, _notice()),
    "partner_message": (models.PartnerMessage, _partner_message()),
    "aeo_record": (
        models.AeoRecord,
        {
            "operator_id": "DEAEOC1",
            "scheme": "AEO",
            "name": "Fast Forwarding GmbH",
            "country": "DE",
            "aeo_type": "AEOC",
            "status": "ACTIVE",
            "valid_from": "2024-01-01",
            "valid_to": None,
            "mra_partner": None,
        },
    ),
    "watchlist_entry": (
        models.WatchlistEntry,
        {
            "entry_id": "W1",
            "name": "Bad Actor Ltd",
            "aliases": ["BA Ltd"],
            "country": "XX",
            "ids": [{"scheme": "TIN", "value": "123"}],
            "list": "UN",
            "action": "DNL",
            "reason": "sanctioned",
        },
    ),
    "examination_result": (
        models.ExaminationResult,
        {
            "declaration_id": "D1",
            "version": 1,
            "result": "SEIZURE",
            "examined_at": "2026-11-29T10:00:00Z",
            "officer_ref": "OFF-7",
        },
    ),
}


@pytest.mark.parametrize("name", sorted(STRUCT_SAMPLES))
def test_sample_validates_and_decodes_with_its_struct(name: str) -> None:
    struct, document = STRUCT_SAMPLES[name]
    assert errors(name, document) == []
    decoded = msgspec.json.decode(json.dumps(document).encode(), type=struct)
    assert errors(name, msgspec.to_builtins(decoded)) == []
