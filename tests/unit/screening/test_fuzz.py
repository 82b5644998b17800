"""Property-based fuzzing of decode, validate and evaluate with the real default rule set.

Generated valid declarations always give an assessment that validates against the shipped
schema; mutations of them (deleted fields, swapped types, flipped bytes, truncation, odd
unicode) give an assessment or a rejection, never an uncaught exception.
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from pipeline import topics
from pipeline.c2c.sending import load_sharing
from pipeline.contract.models import Declaration
from pipeline.contract.schemas import load_schema
from pipeline.records import InputRecord
from pipeline.reference.consolidations import HouseFiling
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.screening.batch import BatchResult, Screener
from pipeline.screening.decode import DecodeFailure, decode_declaration
from pipeline.screening.ledger import DictLedger

RULES_DIR = Path(__file__).resolve().parents[3] / "rules"
MAX_BYTES = 1_048_576
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@cache
def screener() -> Screener:
    evaluator = RuleEvaluator(CompiledRuleSet(load_ruleset(RULES_DIR)))
    # The repo's agreements, so that findings for partners are generated and checked too.
    sharing = load_sharing(RULES_DIR.parent / "agreements", "NL")
    return Screener(evaluator, max_message_bytes=MAX_BYTES, sharing=sharing)


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name), format_checker=FormatChecker())


def screen(raw: bytes | None, key: bytes | None = None) -> BatchResult:
    engine = screener()
    record = InputRecord(topics.DECLARATIONS, key, raw, 0, 0)
    return engine.finish(engine.prepare([record]), DictLedger())


def outputs_validate(result: BatchResult) -> list[dict[str, Any]]:
    """Every output validates against its schema; returns the assessments."""
    schema_of = {
        topics.ASSESSMENTS: "assessment",
        topics.HITS: "hit",
        topics.DLQ: "rejection",
        topics.FILER_NOTICES: "notice",
        topics.C2C_OUTBOUND: "partner_message",
    }
    assessments = []
    for output in result.outputs:
        if output.value is None:
            # Only a hit may be closed by a tombstone, and a house filing's record deleted.
            assert output.topic in (topics.HITS, topics.CONSOLIDATIONS)
            continue
        if output.topic == topics.CONSOLIDATIONS:  # internal: the worker's own struct
            msgspec.json.decode(output.value, type=HouseFiling)
            continue
        document = orjson.loads(output.value)
        validator(schema_of[output.topic]).validate(document)
        if output.topic == topics.ASSESSMENTS:
            assessments.append(document)
    return assessments


# --- generated declarations ---------------------------------------------------------------

HS_OF_INTEREST = ["930690", "360200", "850650", "940360", "847130", "2844", "8802", "0101210000"]
COUNTRIES = ["CN", "DE", "IR", "KP", "SY", "AE", "SG", "NL", "US", "RU", "TR", "NO"]
LOCODES = ["CNSHA", "DEHAM", "NLRTM", "AEJEA", "SGSIN", "IRBND", "USNYC"]
text = st.text(max_size=40)
odd_text = st.text(
    st.characters(codec="utf-8", categories=["L", "M", "N", "P", "S", "Z", "C"]), max_size=60
)
timestamps = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def dumps(document: Any) -> bytes:
    # The standard library writes integers of any size, as JSON allows; orjson stops at 64 bits.
    return json.dumps(document, ensure_ascii=False).encode()


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


party_ids = st.lists(
    st.fixed_dictionaries(
        {"scheme": st.sampled_from(["EORI", "AEO", "CTPAT", "TIN", "OTHER"]), "value": text}
    ),
    max_size=3,
)
parties = st.fixed_dictionaries(
    {"name": odd_text},
    optional={
        "ids": party_ids,
        "address": st.fixed_dictionaries(
            {},
            optional={
                "street": text,
                "city": text,
                "postcode": text,
                "country": st.sampled_from(COUNTRIES),
                "po_box": st.booleans(),
            },
        ),
        "contact": st.fixed_dictionaries({}, optional={"phone": text, "email": text}),
    },
)
hs_codes = st.one_of(
    st.sampled_from([c for c in HS_OF_INTEREST if len(c) >= 6]),
    st.from_regex(r"\A[0-9]{6,10}\Z"),
)
goods_items = st.fixed_dictionaries(
    {},
    optional={
        "seq": st.integers(0, 1000),
        "hs_code": hs_codes,
        "description": odd_text,
        "packages": st.integers(0, 10**9),
        "package_type": st.sampled_from(["PK", "CT", "PL", ""]),
        "gross_mass_kg": st.floats(0, 1e9, allow_nan=False),
        "origin_country": st.sampled_from(COUNTRIES),
        "un_number": st.one_of(st.none(), st.from_regex(r"\AUN[0-9]{4}\Z")),
        "container_ids": st.lists(text, max_size=3),
        "value": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    "amount": st.floats(0, 1e15, allow_nan=False),
                    "currency": st.sampled_from(["USD", "EUR", "CNY"]),
                }
            ),
        ),
    },
)


@st.composite
def declarations(draw: st.DrawFn) -> dict[str, Any]:
    submitted = draw(timestamps)
    document: dict[str, Any] = {
        "declaration_id": draw(st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z")),
        "version": draw(st.integers(1, 2_147_483_647)),
        "message_type": draw(st.sampled_from(["FILING", "AMENDMENT", "INVALIDATION"])),
        "submitted_at": rfc3339(submitted),
    }
    if document["message_type"] == "INVALIDATION" and draw(st.booleans()):
        return document
    document.update(
        declarant=draw(parties),
        consignor=draw(parties),
        consignee=draw(parties),
        goods=draw(st.lists(goods_items, min_size=1, max_size=12)),
    )
    optional = {
        "notify_party": st.one_of(st.none(), parties),
        "transport": st.fixed_dictionaries(
            {},
            optional={
                "mode": st.sampled_from(["AIR", "SEA", "ROAD", "RAIL"]),
                "carrier": parties,
                "conveyance_ref": text,
                "loading_location": st.sampled_from(LOCODES),
                "discharge_location": st.sampled_from(LOCODES),
                "routing_countries": st.lists(st.sampled_from(COUNTRIES), max_size=6),
                "estimated_loading_at": st.builds(
                    lambda hours: rfc3339(submitted + timedelta(hours=hours)),
                    st.integers(-500, 500),
                ),
                "estimated_arrival_at": timestamps.map(rfc3339),
                "vessel": st.one_of(
                    st.none(),
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "name": text,
                            "imo": st.from_regex(r"\A[0-9]{7}\Z"),  # check digit right or not
                            "flag": st.sampled_from(COUNTRIES),
                        },
                    ),
                ),
            },
        ),
        "transport_document": st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(["MAWB", "HAWB", "MBL", "HBL"]),
                "number": text,
                "master_number": st.one_of(st.none(), text),
            },
        ),
        "equipment": st.lists(
            st.fixed_dictionaries(
                {"container_id": st.one_of(text, st.sampled_from(["MSCU6639870", "CSQU3054383"]))},
                optional={"seals": st.lists(text, max_size=2)},
            ),
            max_size=4,
        ),
        "totals": st.fixed_dictionaries(
            {},
            optional={
                "packages": st.integers(0, 10**9),
                "gross_mass_kg": st.floats(0, 1e9, allow_nan=False),
            },
        ),
        "filer_id": text,
        "ucr": text,
        "place_of_receipt": st.sampled_from(LOCODES),
        "unknown_extension": st.recursive(
            st.none() | st.booleans() | st.integers() | text,
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
            max_leaves=10,
        ),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            document[name] = draw(strategy)
    return document


# --- mutations ----------------------------------------------------------------------------

Path_ = list[str | int]


def paths_in(document: Any, prefix: Path_ | None = None) -> list[Path_]:
    prefix = prefix or []
    found: list[Path_] = []
    children: Any = (
        document.items()
        if isinstance(document, dict)
        else enumerate(document)
        if isinstance(document, list)
        else ()
    )
    for name, child in children:
        found.append([*prefix, name])
        found.extend(paths_in(child, [*prefix, name]))
    return found


def parent_of(document: Any, path: Path_) -> Any:
    for segment in path[:-1]:
        document = document[segment]
    return document


ANY_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    odd_text,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(text, st.integers(), max_size=3),
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    document = draw(declarations())
    paths = paths_in(document)
    kind = draw(st.sampled_from(["delete", "swap", "flip", "truncate", "insert", "unicode"]))
    if kind in ("delete", "swap") and paths:
        path = draw(st.sampled_from(paths))
        parent = parent_of(document, path)
        if kind == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(ANY_JSON)
        return dumps(document)
    raw = bytearray(dumps(document))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            index = draw(st.integers(0, len(raw) - 1))
            raw[index] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif kind == "insert":
        index = draw(st.integers(0, len(raw)))
        raw[index:index] = draw(st.binary(min_size=1, max_size=16))
    else:
        index = draw(st.integers(0, len(raw)))
        inserted = draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=8))
        raw[index:index] = inserted.encode()
    return bytes(raw)


# --- properties ---------------------------------------------------------------------------


@FUZZ
@given(declarations())
def test_a_valid_declaration_always_gets_a_valid_assessment(document: dict[str, Any]) -> None:
    raw = dumps(document)
    decoded = decode_declaration(raw, MAX_BYTES)
    assert isinstance(decoded, Declaration), decoded
    validator("declaration").validate(document)
    result = screen(raw, key=document["declaration_id"].encode())
    [assessment] = outputs_validate(result)
    assert assessment["declaration_id"] == document["declaration_id"]
    assert assessment["version"] == document["version"]
    assert not result.rejections


@FUZZ
@given(mutated())
def test_a_mutated_declaration_is_assessed_or_rejected_never_raises(raw: bytes) -> None:
    decoded = decode_declaration(raw, MAX_BYTES)
    assert isinstance(decoded, Declaration | DecodeFailure)
    result = screen(raw)
    outputs_validate(result)
    kinds = {output.topic for output in result.outputs} - {
        topics.FILER_NOTICES,
        topics.CONSOLIDATIONS,
    }
    if isinstance(decoded, DecodeFailure):
        assert kinds == {topics.DLQ}
        assert result.rejections == {decoded.code: 1}
    else:
        assert topics.ASSESSMENTS in kinds
        assert topics.DLQ not in kinds


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    outputs_validate(screen(raw))


@FUZZ
@given(st.lists(st.one_of(declarations().map(dumps), mutated()), min_size=2, max_size=8))
def test_a_batch_of_good_and_bad_gives_one_output_per_good_or_bad(batch: list[bytes]) -> None:
    engine = screener()
    records = [InputRecord(topics.DECLARATIONS, None, raw, 0, i) for i, raw in enumerate(batch)]
    result = engine.finish(engine.prepare(records), DictLedger())
    assessments = outputs_validate(result)
    rejected = [o for o in result.outputs if o.topic == topics.DLQ]
    # Besides: the newest version's assessment again after each late older version's.
    assert len(assessments) - result.reissued + len(rejected) == len(batch)


def test_the_generators_cover_the_alphabet_of_ids() -> None:
    # A guard on the strategy itself: ids use the whole permitted alphabet.
    alphabet = set(string.ascii_letters + string.digits + "-_")
    assert alphabet == set("".join(sorted(alphabet)))
