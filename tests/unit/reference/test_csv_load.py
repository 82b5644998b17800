"""The loaders' CSV formats: records from good rows, a line number and a reason for bad ones."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pytest

from pipeline.contract.models import AeoRecord, WatchlistEntry, WatchlistId
from pipeline.errors import InputFileError
from pipeline.reference.csv_load import (
    AEO_HEADER,
    WATCHLIST_HEADER,
    Row,
    RowError,
    read_aeo_csv,
    read_watchlist_csv,
)

SAMPLES = Path(__file__).resolve().parents[3] / "deploy" / "sample-data"
AEO_HEAD = ",".join(AEO_HEADER)
WL_HEAD = ",".join(WATCHLIST_HEADER)


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors(results: Iterable[object]) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in results if isinstance(r, RowError)]


def test_headers_are_the_contracts() -> None:
    assert (
        AEO_HEAD
        == "operator_id,scheme,name,country,aeo_type,status,valid_from,valid_to,mra_partner"
    )
    assert WL_HEAD == "entry_id,name,aliases,country,ids,list,action,reason"


# --- AEO ------------------------------------------------------------------------------------


def test_aeo_rows_become_records(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{AEO_HEAD}\n"
        "DEAEOF0000123456,AEO,Müller Logistik GmbH,DE,AEOF,ACTIVE,2020-01-01,2030-12-31,\n"
        ' USACMLIN1234 ,ctpat,"Acme Lines, Inc.",us,CTPAT,active,,,us\n',
    )
    results = list(read_aeo_csv(path))
    assert results == [
        Row(
            2,
            AeoRecord(
                "DEAEOF0000123456",
                "AEO",
                "Müller Logistik GmbH",
                "DE",
                "AEOF",
                "ACTIVE",
                date(2020, 1, 1),
                date(2030, 12, 31),
                None,
            ),
        ),
        Row(
            3,
            AeoRecord(
                "USACMLIN1234",
                "CTPAT",
                "Acme Lines, Inc.",
                "US",
                "CTPAT",
                "ACTIVE",
                None,
                None,
                "US",
            ),
        ),
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("X1,AEO,N,DE,AEOF,ACTIVE,2020-02-30,,", "valid_from '2020-02-30' is not a date"),
        ("X1,AEO,N,DE,AEOF,ACTIVE,,31/12/2030,", "valid_to '31/12/2030' is not a date"),
        ("X1,AEO,N,DE,AEOF,ANNULLED,,,", "status 'ANNULLED' is not one of ACTIVE, SUSPENDED"),
        ("X1,AEO,N,Germany,AEOF,ACTIVE,,,", "country 'Germany' is not an ISO 3166 alpha-2"),
        ("X1,AEO,N,ZZ,AEOF,ACTIVE,,,", "country 'ZZ' is not an ISO 3166 alpha-2"),
        ("X1,AEO,N,DE,AEOF,ACTIVE,,,USA", "mra_partner 'USA' is not an ISO 3166 alpha-2"),
        ("X1,MID,N,DE,AEOF,ACTIVE,,,", "scheme 'MID' is not one of EORI, AEO, CTPAT, TIN"),
        ("X1,AEO,N,DE,CTPAT,ACTIVE,,,", "aeo_type 'CTPAT' is not AEOC, AEOS or AEOF"),
        (",AEO,N,DE,AEOF,ACTIVE,,,", "operator_id is empty"),
        ("X1,AEO,,DE,AEOF,ACTIVE,,,", "name is empty"),
        ("X1,AEO,N,DE,AEOF,ACTIVE,2024-01-02,2024-01-01,", "valid_to 2024-01-01 is before"),
        ("X1,AEO,N,DE,AEOF,ACTIVE,,", "8 columns, expected 9"),
        ("X1,AEO,N,DE,AEOF,ACTIVE,,,,", "10 columns, expected 9"),
        (f"X1,AEO,{'N' * 600},DE,AEOF,ACTIVE,,,", "length <= 512"),
    ],
)
def test_bad_aeo_row_gives_its_line_and_reason(tmp_path: Path, row: str, reason: str) -> None:
    good = "DEAEOF1,AEO,Good GmbH,DE,AEOF,ACTIVE,,,"
    path = write(tmp_path, f"{AEO_HEAD}\n{good}\n{row}\n{good}\n")
    results = list(read_aeo_csv(path))
    [(line, message)] = errors(results)
    assert line == 3
    assert reason in message
    assert [r.line for r in results if isinstance(r, Row)] == [2, 4]


def test_line_numbers_count_blank_lines_and_quoted_newlines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{AEO_HEAD}\n"
        "\n"
        'A1,AEO,"Two\nLines GmbH",DE,AEOF,ACTIVE,,,\n'
        "\n"
        "A2,AEO,N,DE,AEOF,ACTIVE,not-a-date,,\n"
        "A3,AEO,N,DE,AEOF,ACTIVE,,,\n",
    )
    results = list(read_aeo_csv(path))
    assert [(type(r).__name__, r.line) for r in results] == [
        ("Row", 3),
        ("RowError", 6),
        ("Row", 7),
    ]


def test_wrong_header_is_one_error_on_line_1(tmp_path: Path) -> None:
    path = write(tmp_path, "operator_id,scheme,name\nA1,AEO,N\n")
    assert errors(list(read_aeo_csv(path))) == [(1, f"header must be {AEO_HEAD}")]


def test_missing_header_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "DEAEOF1,AEO,Good GmbH,DE,AEOF,ACTIVE,,,\n")
    assert errors(list(read_aeo_csv(path))) == [(1, f"header must be {AEO_HEAD}")]
    empty = write(tmp_path, "", "empty.csv")
    assert errors(list(read_aeo_csv(empty))) == [(1, f"no header: expected {AEO_HEAD}")]


def test_byte_order_mark_and_spaces_around_header_names_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(
        ("\ufeff" + " , ".join(AEO_HEADER) + "\r\nA1,AEO,N,DE,AEOS,ACTIVE,,,\r\n").encode()
    )
    [row] = list(read_aeo_csv(path))
    assert isinstance(row, Row)
    assert row.record.aeo_type == "AEOS"


def test_unreadable_file_raises_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"missing\.csv: No such file"):
        list(read_aeo_csv(tmp_path / "missing.csv"))


def test_file_that_is_not_utf8_raises_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        f"{AEO_HEAD}\nA1,AEO,N,DE,AEOS,ACTIVE,,,\nA2,AEO,M\xfcller,DE,AEOS,ACTIVE,,,\n".encode(
            "latin-1"
        )
    )
    with pytest.raises(InputFileError, match=r"latin1\.csv:3: not UTF-8"):
        list(read_aeo_csv(path))


def test_malformed_quoting_is_a_row_error_and_reading_goes_on(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'{AEO_HEAD}\nA1,AEO,"N" x,DE,AEOS,ACTIVE,,,\nA2,AEO,N,DE,AEOS,ACTIVE,,,\n',
    )
    results = list(read_aeo_csv(path))
    assert isinstance(results[0], RowError)
    assert results[0].line == 2
    assert "not valid CSV" in results[0].reason
    assert [r.line for r in results if isinstance(r, Row)] == [3]


# --- watch list -----------------------------------------------------------------------------


def test_watchlist_rows_become_entries(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{WL_HEAD}\n"
        "OFAC-1,ISLAMIC REPUBLIC OF IRAN SHIPPING LINES, IRISL | IRAN SHIPPING LINES ||,ir,"
        '"OTHER:IMO 9051648| tin:IR-123",OFAC,dnl,"On the OFAC SDN list (NPWMD, IFSR)"\n'
        "NAT-7,Polar Star Trading,,,,NATIONAL,RFI,\n",
    )
    assert list(read_watchlist_csv(path)) == [
        Row(
            2,
            WatchlistEntry(
                entry_id="OFAC-1",
                name="ISLAMIC REPUBLIC OF IRAN SHIPPING LINES",
                aliases=["IRISL", "IRAN SHIPPING LINES"],
                country="IR",
                ids=[WatchlistId("OTHER", "IMO 9051648"), WatchlistId("TIN", "IR-123")],
                list="OFAC",
                action="DNL",
                reason="On the OFAC SDN list (NPWMD, IFSR)",
            ),
        ),
        Row(3, WatchlistEntry("NAT-7", "Polar Star Trading", [], None, [], "NATIONAL", "RFI", "")),
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("E1,N,,,IMO 9051648,OFAC,DNL,r", "ids item 'IMO 9051648' is not SCHEME:VALUE"),
        ("E1,N,,,VAT:DE1,OFAC,DNL,r", "ids item 'VAT:DE1' is not SCHEME:VALUE"),
        ("E1,N,,,TIN:,OFAC,DNL,r", "ids item 'TIN:' is not SCHEME:VALUE"),
        ("E1,N,,,,OFAC,BLOCK,r", "action 'BLOCK' is not one of RFI, HRCM, DNL"),
        ("E1,N,,,,,DNL,r", "list is empty"),
        ("E1,N,,XX,,OFAC,DNL,r", "country 'XX' is not an ISO 3166 alpha-2"),
        (",N,,,,OFAC,DNL,r", "entry_id is empty"),
        ("E1,,,,,OFAC,DNL,r", "name is empty"),
        ("E1,N,,,,OFAC,DNL", "7 columns, expected 8"),
    ],
)
def test_bad_watchlist_row_gives_its_line_and_reason(tmp_path: Path, row: str, reason: str) -> None:
    path = write(tmp_path, f"{WL_HEAD}\nE0,Good,,,,OFAC,DNL,r\n{row}\n")
    results = list(read_watchlist_csv(path))
    [(line, message)] = errors(results)
    assert line == 3
    assert reason in message


# --- the shipped samples --------------------------------------------------------------------


def test_sample_watchlist_loads_without_errors() -> None:
    results = list(read_watchlist_csv(SAMPLES / "watchlist.csv"))
    assert errors(results) == []
    entries = [r.record for r in results if isinstance(r, Row)]
    assert len(entries) > 1000
    assert {e.action for e in entries} == {"DNL", "HRCM"}
    assert all(e.entry_id.startswith("OFAC-") and e.list == "OFAC" for e in entries)


def test_sample_aeo_registry_loads_without_errors() -> None:
    results = list(read_aeo_csv(SAMPLES / "aeo.csv"))
    assert errors(results) == []
    records = [r.record for r in results if isinstance(r, Row)]
    assert len(records) >= 200
    assert {r.status for r in records} == {"ACTIVE", "SUSPENDED", "REVOKED"}
    assert {"US", "JP", "CN"} <= {r.mra_partner for r in records}
    assert any(r.valid_to is not None and r.valid_to < date(2026, 1, 1) for r in records)
