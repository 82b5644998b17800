"""The synthetic declaration generator: contract validity, realism, labels, shares, versions."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

import msgspec
import orjson
import pytest
from stdnum import iso6346

from pipeline.contract.models import AeoRecord, Declaration
from pipeline.samples import generator as gen
from pipeline.samples import reference
from pipeline.samples.generator import (
    DeclarationGenerator,
    GeneratedMessage,
    GeneratorConfig,
    trade_description,
)

FIXED_NOW = datetime(2026, 11, 27, 15, 4, 5, 123000, tzinfo=UTC)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
LOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
# The AEO loader's CSV header, as contract.md writes it.
AEO_CSV = "operator_id,scheme,name,country,aeo_type,status,valid_from,valid_to,mra_partner"
AEO_CSV_HEADER = AEO_CSV.split(",")


def stream(count: int, **config: Any) -> tuple[DeclarationGenerator, list[GeneratedMessage]]:
    generator = DeclarationGenerator(GeneratorConfig(**config), now=lambda: FIXED_NOW)
    return generator, list(generator.messages(count))


@cache
def mixed_stream() -> tuple[DeclarationGenerator, tuple[GeneratedMessage, ...]]:
    """One large stream with every kind of message, shared by the tests that only read it."""
    generator, messages = stream(
        20_000,
        seed=20261127,
        risky_share=0.2,
        malformed_share=0.05,
        amendment_share=0.05,
        invalidation_share=0.01,
    )
    return generator, tuple(messages)


def contract_error(value: bytes) -> str | None:
    """Why a message breaks the contract, or None for a valid declaration."""
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    try:
        declaration = msgspec.json.decode(value, type=Declaration)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        return str(exc)
    if declaration.message_type == "INVALIDATION":
        return None
    if None in (declaration.declarant, declaration.consignor, declaration.consignee):
        return "a party required for filings is missing"
    if not declaration.goods or len(declaration.goods) > 999:
        return "goods must have 1 to 999 items"
    return None


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- independent detectors for the risk indicators -----------------------------------------


def found_indicators(doc: dict[str, Any], registry: dict[str, str]) -> set[str]:
    """The indicators a document shows, judged from its content alone."""
    return (
        _goods_indicators(doc)
        | _equipment_indicators(doc)
        | _totals_indicators(doc)
        | _route_indicators(doc)
        | _party_indicators(doc, registry)
    )


def _goods_indicators(doc: dict[str, Any]) -> set[str]:
    vocab = reference.vocabulary()
    found = set()
    loading_country = doc["transport"]["routing_countries"][0]
    for item in doc["goods"]:
        hs, description = item["hs_code"], item["description"]
        if hs[:2] == "93":
            found.add(gen.ARMS_HS)
        if hs[:4] in {"3601", "3602", "3603", "3604"}:
            found.add(gen.EXPLOSIVES_HS)
        if hs[:2] in {"30", "64", "91"} or hs[:4] == "3303":
            found.add(gen.COUNTERFEIT_PRONE_HS)
        if description in vocab.vague_descriptions:
            found.add(gen.VAGUE_DESCRIPTION)
        lithium = item["un_number"] in {"UN3480", "UN3481", "UN3090", "UN3091"}
        if lithium and doc["transport"]["mode"] == "AIR" and "batter" not in description.lower():
            found.add(gen.UNDECLARED_LITHIUM_BATTERY)
        if item["value"]["amount"] == 0:
            found.add(gen.ZERO_VALUE)
        if item["origin_country"] != loading_country:
            found.add(gen.ORIGIN_MISMATCH)
    return found


def _equipment_indicators(doc: dict[str, Any]) -> set[str]:
    found = set()
    for unit in doc["equipment"]:
        if not iso6346.is_valid(unit["container_id"]):
            found.add(gen.BAD_CONTAINER_CHECK_DIGIT)
        if not unit["seals"]:
            found.add(gen.CONTAINER_WITHOUT_SEAL)
    return found


def _totals_indicators(doc: dict[str, Any]) -> set[str]:
    mass = sum(item["gross_mass_kg"] for item in doc["goods"])
    packages = sum(item["packages"] for item in doc["goods"])
    totals = doc["totals"]
    off_mass = abs(totals["gross_mass_kg"] - mass) > 0.1 * mass
    off_packages = abs(totals["packages"] - packages) > 0.1 * packages
    return {gen.TOTALS_MISMATCH} if off_mass or off_packages else set()


def _route_indicators(doc: dict[str, Any]) -> set[str]:
    vocab = reference.vocabulary()
    transport = doc["transport"]
    found = set()
    flagged = set(vocab.high_risk_countries) | set(vocab.transhipment_countries)
    if flagged & set(transport["routing_countries"]):
        found.add(gen.RISKY_ROUTING)
    lead = parse_time(transport["estimated_loading_at"]) - parse_time(doc["submitted_at"])
    if transport["mode"] == "SEA" and lead < timedelta(hours=24):
        found.add(gen.LATE_FILING)
    if transport["mode"] == "AIR" and lead <= timedelta(0):
        found.add(gen.LATE_FILING)
    return found


def _party_indicators(doc: dict[str, Any], registry: dict[str, str]) -> set[str]:
    vocab = reference.vocabulary()
    parties = [doc[role] for role in ("declarant", "consignor", "consignee", "notify_party")]
    parties = [p for p in [*parties, doc["transport"]["carrier"]] if p]
    found = set()
    if doc["consignee"]["address"]["po_box"]:
        found.add(gen.PO_BOX_CONSIGNEE)
    for party in parties:
        if party["name"] in vocab.stopword_party_names:
            found.add(gen.STOPWORD_PARTY_NAME)
        for claim in party["ids"]:
            if claim["scheme"] not in ("AEO", "CTPAT"):
                continue
            status = registry.get(claim["value"])
            if status is None:
                found.add(gen.UNVERIFIED_AEO)
            elif status != "ACTIVE":
                found.add(gen.SUSPENDED_AEO)
    return found


def registry_of(generator: DeclarationGenerator) -> dict[str, str]:
    return {str(r["operator_id"]): str(r["status"]) for r in generator.aeo_records()}


# --- the stream ------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 7, 1000])
def test_messages_yields_exactly_count(count: int) -> None:
    _, messages = stream(count, seed=3, malformed_share=0.3, amendment_share=0.5)
    assert len(messages) == count


def test_every_valid_message_decodes_into_a_declaration() -> None:
    _, messages = mixed_stream()
    valid = [m for m in messages if m.kind != "MALFORMED"]
    assert len(valid) > 18_000
    for message in valid:
        assert contract_error(message.value) is None, message.value[:200]
        declaration = msgspec.json.decode(message.value, type=Declaration)
        assert declaration.message_type == message.kind
        assert message.key == declaration.declaration_id.encode()


def test_filings_use_bundled_reference_data() -> None:
    _, messages = mixed_stream()
    codes = {loc.code: loc for loc in reference.locations()}
    subheadings = {s.code for s in reference.subheadings()}
    currencies = set(reference.vocabulary().usd_rates)
    for message in messages:
        if message.kind != "FILING":
            continue
        doc = orjson.loads(message.value)
        transport = doc["transport"]
        loading = codes[transport["loading_location"]]
        assert transport["discharge_location"] in codes
        assert transport["routing_countries"][0] == loading.country
        assert transport["routing_countries"][-1] == transport["discharge_location"][:2]
        assert {item["hs_code"] for item in doc["goods"]} <= subheadings
        assert {item["value"]["currency"] for item in doc["goods"]} <= currencies
        assert [item["seq"] for item in doc["goods"]] == list(range(1, len(doc["goods"]) + 1))
        for stamp in (doc["submitted_at"], transport["estimated_loading_at"]):
            assert TIMESTAMP.match(stamp)


def test_transport_documents_match_the_mode() -> None:
    _, messages = mixed_stream()
    expected = {"SEA": {"MBL", "HBL"}, "AIR": {"MAWB", "HAWB"}}
    modes: Counter[str] = Counter()
    for message in messages:
        if message.kind != "FILING":
            continue
        doc = orjson.loads(message.value)
        mode = doc["transport"]["mode"]
        modes[mode] += 1
        document = doc["transport_document"]
        if mode in expected:
            assert document["type"] in expected[mode]
        else:
            assert document is None
        if mode == "AIR":
            assert doc["equipment"] == []
        if document and document["type"] == "MAWB":
            serial = document["number"].split("-")[1]
            assert int(serial[:7]) % 7 == int(serial[7])  # the air waybill check digit
    total = sum(modes.values())
    assert modes["SEA"] / total > 0.5
    assert modes["AIR"] / total > 0.25
    assert (modes["SEA"] + modes["AIR"]) / total > 0.9


def test_sea_filings_are_made_24_to_96_hours_before_loading() -> None:
    _, messages = mixed_stream()
    for message in messages:
        if message.kind != "FILING" or gen.LATE_FILING in message.labels:
            continue
        doc = orjson.loads(message.value)
        if doc["transport"]["mode"] != "SEA":
            continue
        lead = parse_time(doc["transport"]["estimated_loading_at"]) - FIXED_NOW
        assert timedelta(hours=24) <= lead <= timedelta(hours=96)
        assert doc["transport"]["estimated_arrival_at"] > doc["transport"]["estimated_loading_at"]


def test_containers_of_ordinary_filings_are_valid_sealed_and_stowed() -> None:
    _, messages = mixed_stream()
    checked = 0
    for message in messages:
        if message.kind == "MALFORMED" or message.risky or message.kind == "INVALIDATION":
            continue
        doc = orjson.loads(message.value)
        containers = [unit["container_id"] for unit in doc["equipment"]]
        cited = {c for item in doc["goods"] for c in item["container_ids"]}
        assert all(iso6346.is_valid(c) for c in containers)
        assert all(unit["seals"] for unit in doc["equipment"])
        assert cited == set(containers)
        checked += len(containers)
    assert checked > 10_000


def test_totals_of_ordinary_filings_add_up() -> None:
    _, messages = mixed_stream()
    for message in messages:
        if message.kind in ("MALFORMED", "INVALIDATION") or message.risky:
            continue
        doc = orjson.loads(message.value)
        goods = doc["goods"]
        assert doc["totals"]["packages"] == sum(item["packages"] for item in goods)
        mass = sum(item["gross_mass_kg"] for item in goods)
        assert doc["totals"]["gross_mass_kg"] == pytest.approx(mass, abs=0.05)


def test_labels_are_exactly_the_indicators_the_document_shows() -> None:
    generator, messages = mixed_stream()
    registry = registry_of(generator)
    shown: Counter[str] = Counter()
    for message in messages:
        if message.kind not in ("FILING", "AMENDMENT"):
            continue
        found = found_indicators(orjson.loads(message.value), registry)
        assert found == set(message.labels), (message.labels, found, message.value[:300])
        assert message.risky == bool(found)
        shown.update(found)
    assert set(shown) == set(gen.RISK_INDICATORS)


def test_risky_declarations_can_combine_indicators() -> None:
    _, messages = mixed_stream()
    sizes = Counter(len(m.labels) for m in messages if m.kind == "FILING" and m.risky)
    assert sizes[1] > sizes[3] > 0
    assert sizes[2] > 0


def test_shares_are_respected() -> None:
    _, messages = mixed_stream()
    kinds = Counter(m.kind for m in messages)
    filings = [m for m in messages if m.kind == "FILING"]
    assert kinds["MALFORMED"] / len(messages) == pytest.approx(0.05, abs=0.006)
    assert sum(m.risky for m in filings) / len(filings) == pytest.approx(0.2, abs=0.015)
    amended = {m.key for m in messages if m.kind == "AMENDMENT"}
    invalidated = {m.key for m in messages if m.kind == "INVALIDATION"}
    # A few versions fall beyond the end of the stream, hence the lower bounds.
    assert 0.04 < len(amended) / len(filings) < 0.06
    assert 0.006 < len(invalidated) / len(filings) < 0.014


def test_no_risky_or_malformed_messages_when_shares_are_zero() -> None:
    _, messages = stream(3000, seed=9, risky_share=0.0, amendment_share=0.0)
    assert {m.kind for m in messages} <= {"FILING", "INVALIDATION"}
    assert not any(m.risky for m in messages)


def test_later_versions_follow_an_earlier_version_of_the_same_declaration() -> None:
    _, messages = mixed_stream()
    latest: dict[bytes, dict[str, Any]] = {}
    closed: set[bytes] = set()
    versions = 0
    for message in messages:
        if message.kind == "MALFORMED":
            continue
        doc = orjson.loads(message.value)
        if message.kind == "FILING":
            assert doc["version"] == 1
            assert message.key not in latest
        else:
            previous = latest[message.key]
            assert message.key not in closed
            assert doc["version"] == previous["version"] + 1
            assert doc["submitted_at"] > previous["submitted_at"]
            versions += 1
        if message.kind == "AMENDMENT":
            ignored = {"version", "message_type", "submitted_at"}
            assert {k: v for k, v in doc.items() if k not in ignored} != {
                k: v for k, v in latest[message.key].items() if k not in ignored
            }
        if message.kind == "INVALIDATION":
            assert set(doc) == {"declaration_id", "version", "message_type", "submitted_at"}
            closed.add(message.key)
        latest[message.key] = doc
    assert versions > 900


def test_amendments_keep_ordinary_sea_filings_on_time() -> None:
    _, messages = stream(5000, seed=4, risky_share=0.0, amendment_share=0.5)
    amendments = [orjson.loads(m.value) for m in messages if m.kind == "AMENDMENT"]
    assert len(amendments) > 1000
    for doc in amendments:
        lead = parse_time(doc["transport"]["estimated_loading_at"]) - parse_time(
            doc["submitted_at"]
        )
        if doc["transport"]["mode"] == "SEA":
            assert lead >= timedelta(hours=24)
        if doc["transport"]["mode"] == "AIR":
            assert lead > timedelta(0)


def test_declaration_ids_are_unique_and_carry_a_run_token() -> None:
    _, messages = mixed_stream()
    ids = [m.key for m in messages if m.kind == "FILING"]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(rb"PLACI-2026-[A-Z2-9]{5}-\d{9}", key) for key in ids)
    _, other = stream(10, seed=20261128)
    assert other[0].key.split(b"-")[2] != ids[0].split(b"-")[2]


# --- malformed messages ----------------------------------------------------------------------


def test_malformed_messages_break_the_contract_as_labelled() -> None:
    _, messages = mixed_stream()
    malformed = [m for m in messages if m.kind == "MALFORMED"]
    assert {m.labels[0] for m in malformed} == {
        "INVALID_JSON",
        "NOT_AN_OBJECT",
        "SCHEMA",
        "ENCODING",
    }
    for message in malformed:
        code = message.labels[0]
        assert contract_error(message.value) is not None, message.labels
        assert not message.risky
        if code == "ENCODING":
            with pytest.raises(UnicodeDecodeError):
                message.value.decode("utf-8")
            continue
        message.value.decode("utf-8")  # each message has one defect only
        if code == "INVALID_JSON":
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(message.value)
            continue
        document = orjson.loads(message.value)
        assert isinstance(document, dict) == (code == "SCHEMA"), message.labels


def test_malformed_keys_are_plausible_or_empty() -> None:
    _, messages = mixed_stream()
    keys = [m.key for m in messages if m.kind == "MALFORMED"]
    assert b"" in keys
    assert all(key == b"" or key.startswith(b"PLACI-") for key in keys)


# --- determinism and the single declaration ----------------------------------------------


def test_same_seed_and_clock_give_the_same_stream() -> None:
    config = {"seed": 42, "risky_share": 0.3, "malformed_share": 0.1, "amendment_share": 0.2}
    _, first = stream(2000, **config)
    _, second = stream(2000, **config)
    assert first == second
    _, other = stream(2000, **{**config, "seed": 43})
    assert [m.value for m in other] != [m.value for m in first]


def test_timestamps_follow_the_clock() -> None:
    later = FIXED_NOW + timedelta(days=3)
    generator = DeclarationGenerator(GeneratorConfig(seed=1), now=lambda: later)
    doc = generator.declaration()
    assert doc["submitted_at"] == "2026-11-30T15:04:05.123Z"


def test_declaration_is_a_json_ready_copy() -> None:
    generator = DeclarationGenerator(GeneratorConfig(seed=5), now=lambda: FIXED_NOW)
    first = generator.declaration(risky=False)
    assert first["message_type"] == "FILING"
    assert TIMESTAMP.match(first["submitted_at"])
    assert contract_error(orjson.dumps(first)) is None
    first["consignee"]["name"] = "CHANGED"
    first["consignor"]["name"] = "CHANGED"
    later = [generator.declaration(risky=False) for _ in range(500)]
    assert all("CHANGED" not in (d["consignee"]["name"], d["consignor"]["name"]) for d in later)


def test_declaration_can_be_asked_to_be_risky() -> None:
    generator = DeclarationGenerator(GeneratorConfig(seed=6), now=lambda: FIXED_NOW)
    registry = registry_of(generator)
    risky = [generator.declaration(risky=True) for _ in range(50)]
    assert all(found_indicators(doc, registry) for doc in risky)


def test_invalid_shares_are_refused() -> None:
    with pytest.raises(ValueError, match="risky_share"):
        GeneratorConfig(risky_share=1.5)


# --- AEO registry ----------------------------------------------------------------------------


def test_aeo_records_fit_the_contract() -> None:
    generator, _ = mixed_stream()
    records = generator.aeo_records()
    assert len(records) > 100
    for record in records:
        assert list(record) == AEO_CSV_HEADER
        msgspec.convert(record, type=AeoRecord)
    statuses = Counter(r["status"] for r in records)
    assert statuses["ACTIVE"] > statuses["SUSPENDED"] + statuses["REVOKED"] > 0
    partners = {r["mra_partner"] for r in records} - {None}
    assert partners <= gen.MRA_PARTNERS
    assert all(r["aeo_type"] in ("AEOS", "AEOF", "CTPAT") for r in records if r["mra_partner"])


# --- descriptions and reference data -------------------------------------------------------


@pytest.mark.parametrize(
    ("hs_text", "expected"),
    [
        (
            "Electric accumulators; lithium-ion, including separators, whether or not "
            "rectangular (including square)",
            "Electric accumulators, lithium-ion",
        ),
        (
            "Footwear; n.e.c. in heading no. 6403, (not covering the ankle), outer soles of "
            "rubber, plastics or composition leather, uppers of leather",
            "Footwear, outer soles of rubber",
        ),
        ("Perfumes and toilet waters", "Perfumes and toilet waters"),
        (
            "Radio-broadcast receivers n.e.c. in heading no. 8527; combined with sound "
            "recording or reproducing apparatus",
            "Radio-broadcast receivers, combined with sound recording",
        ),
    ],
)
def test_trade_description(hs_text: str, expected: str) -> None:
    assert trade_description(hs_text) == expected


def test_trade_descriptions_are_short() -> None:
    for sub in reference.subheadings():
        description = trade_description(sub.description)
        assert 0 < len(description) <= 60, sub


def test_bundled_data_is_small_and_complete() -> None:
    data = files("pipeline.samples").joinpath("data")
    sizes = {entry.name: len(entry.read_bytes()) for entry in data.iterdir() if entry.is_file()}
    data_files = {"hs_subheadings.csv", "locodes.csv", "countries.csv", "vocabulary.json"}
    assert data_files | {"LICENSES.md"} <= set(sizes)
    assert sum(sizes.values()) < 300_000
    chapters = {s.chapter for s in reference.subheadings()}
    assert {
        "93",
        "36",
        "30",
        "33",
        "64",
        "91",
        "85",
        "61",
        "62",
        "84",
        "94",
        "95",
        "39",
    } <= chapters
    assert {"850650", "850760"} <= {s.code for s in reference.subheadings()}


def test_locations_are_real_locodes_of_known_countries() -> None:
    locations = reference.locations()
    countries = reference.countries()
    assert len(locations) >= 250
    assert all(LOCODE.match(loc.code) and loc.country == loc.code[:2] for loc in locations)
    assert {loc.country for loc in locations} <= set(countries)
    assert {"CNSGH", "NLRTM", "BEANR", "DEHAM", "SGSIN", "AEJEA", "IRBND", "KPNAM"} <= {
        loc.code for loc in locations
    }
    assert sum(loc.seaport for loc in locations) > 150
    assert sum(loc.airport for loc in locations) > 100
