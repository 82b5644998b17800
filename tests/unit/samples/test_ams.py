"""Real AMS manifest records become contract declarations; what cannot be carried over is left
out and said in a note, and a malformed row is reported with its file and line."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from pipeline.contract.models import Declaration
from pipeline.contract.schemas import load_schema
from pipeline.errors import InputFileError
from pipeline.samples.ams import (
    AmsConversion,
    convert_ams,
    country_code,
    declarations_from_ams,
    locode,
    main,
    repair_hs_code,
)
from pipeline.screening.decode import decode_declaration

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ams"
JOINED = [f"20200106{n}" for n in range(0, 5)]


@pytest.fixture(scope="module")
def conversions() -> dict[str, AmsConversion]:
    return {c.bill: c for c in declarations_from_ams(FIXTURES)}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the fixtures that a test may change."""
    copy = tmp_path / "ams"
    shutil.copytree(FIXTURES, copy)
    for path in copy.iterdir():
        path.chmod(0o644)
    return copy


def append(folder: Path, table: str, line: str) -> None:
    path = folder / f"ams2020_{table}_sample.csv"
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


def notes_of(conversion: AmsConversion) -> str:
    return "\n".join(conversion.notes)


# --- the five bills that join -------------------------------------------------------------------


def test_the_bills_that_join_become_declarations(conversions: dict[str, AmsConversion]) -> None:
    assert sorted(conversions) == JOINED
    for bill, conversion in conversions.items():
        assert conversion.declaration["declaration_id"] == f"AMS-{bill}"


def test_the_bills_that_do_not_join_are_reported_with_file_and_line() -> None:
    problems = convert_ams(FIXTURES).problems
    assert [(p.file, p.line) for p in problems] == [
        ("ams2020_billgen_sample.csv", line) for line in range(7, 12)
    ]
    assert all("not converted" in p.reason for p in problems)


def test_every_declaration_meets_the_contract(conversions: dict[str, AmsConversion]) -> None:
    schema = Draft202012Validator(load_schema("declaration"))
    for conversion in conversions.values():
        raw = orjson.dumps(conversion.declaration)
        assert isinstance(decode_declaration(raw, 1 << 20), Declaration)
        assert list(schema.iter_errors(conversion.declaration)) == []


def test_a_house_bill(conversions: dict[str, AmsConversion]) -> None:
    conversion = conversions["202001060"]
    declaration = conversion.declaration
    assert declaration["transport_document"] == {
        "type": "HBL",
        "number": "SWOESH1S01451870",
        "master_number": "APLUSHBW014713",
    }
    assert declaration["transport"] == {
        "mode": "SEA",
        "conveyance_ref": "0DB4P",
        "loading_location": "CNSGH",  # "Shanghai ,China (Mainland)"
        "discharge_location": "USOAK",  # "Oakland, California"
        "estimated_arrival_at": "2019-08-09T00:00:00Z",
        "vessel": {"name": "PRESIDENT EISENHOWER", "imo": "9295220", "flag": "US"},
    }
    assert declaration["place_of_receipt"] == "CNSGH"  # "SHANGHAI CHINA"
    assert declaration["filer_id"] == "SWOE"
    assert declaration["consignor"]["name"] == "LEADTONE COMMUNICATION TECHNOLOIES"
    assert declaration["consignor"]["address"]["country"] == "CN"
    assert declaration["consignee"]["address"]["postcode"] == "94587"
    assert declaration["equipment"] == [{"container_id": "TEMU6512740", "seals": ["O1569143"]}]
    assert declaration["goods"] == [
        {"seq": 1, "description": "ANTENNA", "packages": 18, "container_ids": ["TEMU6512740"]}
    ]
    assert declaration["totals"] == {"packages": 18, "gross_mass_kg": 5200.0}
    assert "house bill" in notes_of(conversion)


def test_what_ams_does_not_give_stays_out(conversions: dict[str, AmsConversion]) -> None:
    for conversion in conversions.values():
        declaration = conversion.declaration
        assert "ucr" not in declaration
        assert "estimated_loading_at" not in declaration["transport"]
        assert "routing_countries" not in declaration["transport"]
        # No tariff row joins these bills: no HS code, and a note says why.
        assert all("hs_code" not in item for item in declaration["goods"])
        assert "no loading time" in notes_of(conversion)


def test_a_carrier_bill_with_country_names(conversions: dict[str, AmsConversion]) -> None:
    conversion = conversions["202001062"]
    declaration = conversion.declaration
    assert declaration["transport_document"] == {"type": "MBL", "number": "OOLU2107899100"}
    assert declaration["transport"]["carrier"]["name"] == "OOLU"
    assert declaration["transport"]["loading_location"] == "TWKHH"  # "Kaohsiung,China (Taiwan)"
    # "Savannah, Georgia": the US state, not the country Georgia.
    assert declaration["transport"]["discharge_location"] == "USSAV"
    assert declaration["transport"]["vessel"]["flag"] == "SG"
    assert declaration["place_of_receipt"] == "PHMNL"  # "MANILA"
    # No country code column: the last address line names the country.
    assert declaration["consignor"]["address"]["country"] == "PH"
    assert declaration["consignee"]["address"]["country"] == "US"
    assert declaration["consignee"]["contact"] == {"phone": "8925523"}
    assert declaration["notify_party"]["name"] == "DAMCO USA INC."
    assert "EXPEDITORS INTERNATIONAL OF WASHING" in notes_of(conversion)


def test_nan_is_no_value(conversions: dict[str, AmsConversion]) -> None:
    conversion = conversions["202001062"]
    [vase, ornament, _] = conversion.declaration["goods"]
    assert vase == {
        "seq": 1,
        "description": "DECORATIVE TERRACOTTA VASE BOWL",
        "container_ids": ["OOLU1809656"],
    }
    assert ornament["packages"] == 9
    assert "ams2020_cargodesc_sample.csv:4: goods item 1: piece count not given" in conversion.notes
    assert conversion.declaration["equipment"] == [
        {"container_id": "OOLU1809656", "seals": ["OOLFEY3491"]}
    ]


def test_names_cut_at_35_characters_are_noted(conversions: dict[str, AmsConversion]) -> None:
    conversion = conversions["202001063"]
    assert conversion.declaration["consignee"]["name"] == "WILLIAMS-SONOMA SINGAPORE PTE LIMIT"
    assert "consignee name 'WILLIAMS-SONOMA SINGAPORE PTE LIMIT' is 35 characters" in (
        notes_of(conversion)
    )


def test_a_bill_without_cargo_description_keeps_its_manifest_quantity(
    conversions: dict[str, AmsConversion],
) -> None:
    conversion = conversions["202001063"]
    assert conversion.declaration["goods"] == [
        {
            "seq": 1,
            "packages": 242,
            "package_type": "CTN",
            "gross_mass_kg": 3431.0,
            "container_ids": ["OOLU9729032"],
        }
    ]
    assert "no cargo description" in notes_of(conversion)


# --- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("940360.0", "940360"),  # a number read as a decimal
        ("940360", "940360"),
        ("30617.0", "030617"),  # the leading zero lost in a numeric column
        ("8471300000.0", "8471300000"),
        ("0101.21.00.10", "0101210010"),  # a dotted HTS number (the HTS schedule table)
        ("8.4713e5", "847130"),
        ("8516.90", "851690"),
    ],
)
def test_hs_codes_are_repaired(text: str, code: str) -> None:
    assert repair_hs_code(text)[0] == code


@pytest.mark.parametrize(
    "text",
    # The first three are real: the tariff table's HS numbers of the sample.
    ["8451.0", "37.0", "3924.0", "8451.00", "12345678901", "8471.5", "-940360", "HS 9403"],
)
def test_an_hs_code_that_cannot_be_made_right_is_left_out_with_a_note(text: str) -> None:
    code, note = repair_hs_code(text)
    assert code is None
    assert text in note
    assert "left out" in note


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("US", "US"),
        ("China (Mainland)", "CN"),
        ("China (Taiwan)", "TW"),
        ("UNITED STATES", "US"),
        ("PHILIPPINES", "PH"),
        ("33", None),  # a country code column holding a phone number fragment
        ("XX", None),
        (None, None),
    ],
)
def test_country_codes_and_names(text: str | None, code: str | None) -> None:
    assert country_code(text) == code


def test_a_short_word_is_not_taken_for_a_country_code_in_free_text() -> None:
    assert country_code("PT", codes=False) is None


def test_port_names_match_only_one_locode() -> None:
    assert locode("Shanghai", "CN") == "CNSGH"
    assert locode("KAOHSIUNG", None) == "TWKHH"
    assert locode("Anvers", "BE") is None  # Schedule K's French name for Antwerp
    assert locode("Savannah", "GE") is None


# --- tables that join, or do not, in a changed copy -----------------------------------------------


def test_a_tariff_row_gives_the_hs_code_and_mass(folder: Path) -> None:
    # Made-up rows, in the tariff table's form, that join bill 202001062's descriptions.
    append(folder, "tariff", "202001062,OOLU1809656,1,691390.0,0.0,812,Kilograms")
    append(folder, "tariff", "202001062,OOLU1809656,2,5051.0,0.0,100,Pounds")
    conversion = next(c for c in declarations_from_ams(folder) if c.bill == "202001062")
    vase, ornament, _ = conversion.declaration["goods"]
    assert vase["hs_code"] == "691390"
    assert vase["gross_mass_kg"] == 812.0
    assert "hs_code" not in ornament
    assert ornament["gross_mass_kg"] == pytest.approx(45.359)
    assert "goods item 2: HS code '5051.0' has 4 digits, not 6 to 10: left out" in (
        notes_of(conversion)
    )


def test_a_hazmat_row_gives_the_un_number_of_the_one_item_in_its_container(folder: Path) -> None:
    append(folder, "hazmat", "202001060,TEMU6512740,1,3480,9,U,NaN,NaN,000,NaN,NaN,NaN")
    conversion = next(c for c in declarations_from_ams(folder) if c.bill == "202001060")
    assert conversion.declaration["goods"][0]["un_number"] == "UN3480"


def test_malformed_rows_are_reported_not_raised(folder: Path) -> None:
    append(folder, "cargodesc", "abc,TEMU6512740,1,18.0,ANTENNA")
    append(folder, "container", "202001060,TEMU6512740")
    append(folder, "cargodesc", "202001064,OOLU9418215,1,many,GARDEN CHAIRS")
    result = convert_ams(folder)
    problems = {(p.file, p.line): p.reason for p in result.problems}
    assert "is not a bill number" in problems[("ams2020_cargodesc_sample.csv", 12)]
    assert "2 fields where the header has 11" in problems[("ams2020_container_sample.csv", 12)]
    [chairs] = next(c for c in result.conversions if c.bill == "202001064").declaration["goods"]
    assert chairs == {
        "seq": 1,
        "description": "GARDEN CHAIRS",
        "container_ids": ["OOLU9418215"],
    }


def test_a_row_that_is_not_csv_is_reported_and_the_rest_is_kept(folder: Path) -> None:
    append(folder, "cargodesc", "202001064,OOLU9418215,1,1.0," + "X" * 200_000)
    result = convert_ams(folder)
    [problem] = [p for p in result.problems if p.file == "ams2020_cargodesc_sample.csv"]
    assert problem.line == 12
    assert "not CSV" in problem.reason
    assert len(result.conversions) == 5


def test_a_quoted_line_break_keeps_the_line_numbers_right(folder: Path) -> None:
    append(folder, "cargodesc", '202001064,OOLU9418215,1,2.0,"GARDEN\nCHAIRS"')
    append(folder, "cargodesc", "nan,OOLU9418215,2,2.0,TABLES")
    problems = convert_ams(folder).problems
    assert ("ams2020_cargodesc_sample.csv", 14) in {(p.file, p.line) for p in problems}


def test_a_table_without_its_columns_is_reported(folder: Path) -> None:
    (folder / "ams2020_tariff_sample.csv").write_text("identifier,hs\n202001062,940360\n")
    problems = convert_ams(folder).problems
    assert any(
        p.file == "ams2020_tariff_sample.csv" and p.line == 1 and "no column" in p.reason
        for p in problems
    )


def test_a_bill_that_breaks_the_contract_is_reported(folder: Path) -> None:
    path = folder / "ams2020_consignee_sample.csv"
    path.write_text(path.read_text().replace("202001060,QUINTEL USA INC.", "202001060,NaN"))
    result = convert_ams(folder)
    assert "202001060" not in {c.bill for c in result.conversions}
    [problem] = [p for p in result.problems if "202001060" in p.reason]
    assert (problem.file, problem.line) == ("ams2020_billgen_sample.csv", 2)
    assert "consignee" in problem.reason


def test_a_folder_without_the_header_table_is_an_input_error(folder: Path) -> None:
    (folder / "ams2020_header_sample.csv").unlink()
    with pytest.raises(InputFileError, match="no header table"):
        convert_ams(folder)


# --- the command ----------------------------------------------------------------------------------


def test_the_command_prints_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(FIXTURES)]) == 0
    out, err = capsys.readouterr()
    lines: list[dict[str, Any]] = [orjson.loads(line) for line in out.splitlines()]
    assert [line["declaration_id"] for line in lines] == [f"AMS-{bill}" for bill in JOINED]
    assert "AMS-202001062: " in err
    assert "ams2020_billgen_sample.csv:7: " in err


def test_the_command_on_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "none")]) == 2
    assert "not a folder" in capsys.readouterr().err
