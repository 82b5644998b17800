"""``screening aeo|watchlist load|delete`` without a broker: bad rows, bad files, bad ids, and
what would be published (the producer is replaced by a recorder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from pipeline import topics
from pipeline.cli import reference
from pipeline.cli.main import main
from pipeline.contract.models import AeoRecord, WatchlistEntry
from pipeline.reference.csv_load import AEO_HEADER, WATCHLIST_HEADER

AEO_HEAD = ",".join(AEO_HEADER)
WL_HEAD = ",".join(WATCHLIST_HEADER)


class RecordingProducer:
    """Stands in for confluent_kafka.Producer and keeps what is produced."""

    produced: list[tuple[str, bytes | None, bytes | None]]

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        RecordingProducer.produced = []

    def produce(self, topic: str, value: bytes | None, key: bytes | None) -> None:
        RecordingProducer.produced.append((topic, key, value))

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return 0


@pytest.fixture
def producer(monkeypatch: pytest.MonkeyPatch) -> type[RecordingProducer]:
    RecordingProducer.produced = []
    monkeypatch.setattr(reference, "Producer", RecordingProducer)
    # No broker here: the connection check before publishing passes.
    monkeypatch.setattr(reference, "check_access", lambda settings: None)
    return RecordingProducer


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def test_bad_rows_are_reported_as_file_and_line_and_nothing_valid_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        f"{AEO_HEAD}\nX1,AEO,N,Germany,AEOF,ACTIVE,,,\n\nX2,AEO,N,DE,AEOF,ACTIVE,2024-13-01,,\n",
    )
    assert main(["aeo", "load", str(path)]) == 1
    assert stderr_lines(capsys) == [
        f"{path}:2: country 'Germany' is not an ISO 3166 alpha-2 country code",
        f"{path}:4: valid_from '2024-13-01' is not a date (YYYY-MM-DD)",
        f"{path}: loaded 0, skipped 2, deleted 0 ({topics.AEO_REGISTRY})",
        f"screening: {path}: no valid rows to load",
    ]


def test_wrong_header_is_line_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "id,name\nE1,N\n")
    assert main(["watchlist", "load", str(path)]) == 1
    lines = stderr_lines(capsys)
    assert lines[0] == f"{path}:1: header must be {WL_HEAD}"
    assert lines[-1] == f"screening: {path}: no valid rows to load"


@pytest.mark.parametrize("command", ["load", "sync"])
@pytest.mark.parametrize("feed", ["aeo", "watchlist"])
def test_missing_file_is_a_usage_error(
    feed: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([feed, command, "/nonexistent/list.csv"]) == 2
    [line] = stderr_lines(capsys)
    assert line.startswith("screening: error: Invalid value for 'FILE': File ")
    assert "/nonexistent/list.csv' does not exist" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["aeo", "load"],
        ["aeo", "delete"],
        ["watchlist", "delete"],
        ["watchlist", "load", "a.csv", "--no-such-flag"],
        ["aeo", "frobnicate"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    [line] = stderr_lines(capsys)
    assert line.startswith("screening: error: ")


def test_empty_id_to_delete_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["watchlist", "delete", "OFAC-1", " "]) == 2  # a bad argument
    assert stderr_lines(capsys) == ["screening: error: an id to delete is empty"]


def test_valid_rows_are_published_keyed_and_bad_ones_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], producer: type[RecordingProducer]
) -> None:
    path = write(
        tmp_path,
        f"{WL_HEAD}\n"
        "OFAC-1,IRISL,IRAN SHIPPING LINES,IR,TIN:IR1,OFAC,DNL,listed\n"
        "OFAC-2,Bad,,,,OFAC,BLOCK,listed\n"
        "NAT-3,Polar Star,,,,NATIONAL,RFI,\n",
    )
    assert main(["watchlist", "load", str(path), "--bootstrap", "broker:9092"]) == 0
    assert stderr_lines(capsys) == [
        f"{path}:3: action 'BLOCK' is not one of RFI, HRCM, DNL",
        f"{path}: loaded 2, skipped 1, deleted 0 ({topics.WATCHLIST})",
    ]
    assert [(t, k) for t, k, _ in producer.produced] == [
        (topics.WATCHLIST, b"OFAC-1"),
        (topics.WATCHLIST, b"NAT-3"),
    ]
    first = msgspec.json.decode(producer.produced[0][2] or b"", type=WatchlistEntry)
    assert (first.name, first.aliases, first.action) == ("IRISL", ["IRAN SHIPPING LINES"], "DNL")


def test_aeo_records_are_json_of_the_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], producer: type[RecordingProducer]
) -> None:
    path = write(tmp_path, f"{AEO_HEAD}\nDEAEOF1,AEO,Müller GmbH,DE,AEOF,ACTIVE,2020-01-01,,\n")
    assert main(["aeo", "load", str(path)]) == 0
    [(topic, key, value)] = producer.produced
    assert (topic, key) == (topics.AEO_REGISTRY, b"DEAEOF1")
    assert msgspec.json.decode(value or b"") == {
        "operator_id": "DEAEOF1",
        "scheme": "AEO",
        "name": "Müller GmbH",
        "country": "DE",
        "aeo_type": "AEOF",
        "status": "ACTIVE",
        "valid_from": "2020-01-01",
        "valid_to": None,
        "mra_partner": None,
    }
    msgspec.json.decode(value or b"", type=AeoRecord)


def test_delete_publishes_tombstones(
    capsys: pytest.CaptureFixture[str], producer: type[RecordingProducer]
) -> None:
    assert main(["aeo", "delete", "DEAEOF1", "NLAEOS2"]) == 0
    assert producer.produced == [
        (topics.AEO_REGISTRY, b"DEAEOF1", None),
        (topics.AEO_REGISTRY, b"NLAEOS2", None),
    ]
    assert stderr_lines(capsys) == [f"loaded 0, skipped 0, deleted 2 ({topics.AEO_REGISTRY})"]


def test_parsing_needs_no_broker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, f"{AEO_HEAD}\nA1,AEO,N,DE,AEOS,ACTIVE,,,\nA2,AEO,N,DE,AEOX,ACTIVE,,,\n")
    sent: list[tuple[bytes, bytes | None]] = []
    summary = reference.publish_file(
        path, reference.AEO, lambda k, v: sent.append((k, v)), progress=False
    )
    assert (summary.loaded, summary.skipped, summary.deleted) == (1, 1, 0)
    assert [k for k, _ in sent] == [b"A1"]
    assert stderr_lines(capsys)[0].startswith(f"{path}:3: aeo_type 'AEOX'")
