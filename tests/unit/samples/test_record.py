"""`python -m pipeline.samples.record`: the generator's messages to a file, and its AEO CSV."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from pipeline.reference.csv_load import Row, read_aeo_csv
from pipeline.samples.record import main


def test_writes_the_messages_and_a_registry_the_loader_reads(tmp_path: Path) -> None:
    out, aeo = tmp_path / "recorded.jsonl", tmp_path / "aeo.csv"
    args = [str(out), "--count", "200", "--seed", "3", "--aeo-out", str(aeo)]
    assert main(args) == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == 200
    assert all(isinstance(orjson.loads(line), dict) for line in lines)
    rows = list(read_aeo_csv(aeo))
    assert rows
    assert all(isinstance(row, Row) for row in rows)

    again = tmp_path / "again.jsonl"
    assert main([str(again), "--count", "200", "--seed", "3"]) == 0
    first_ids = [orjson.loads(line)["declaration_id"] for line in lines[:5]]
    assert first_ids == [
        orjson.loads(line)["declaration_id"] for line in again.read_bytes().splitlines()[:5]
    ]


@pytest.mark.parametrize(
    "args",
    [["f.jsonl"], ["f.jsonl", "--count", "0"], ["f.jsonl", "--count", "5", "--risky-share", "2"]],
)
def test_bad_arguments_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2


def test_an_unwritable_path_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing" / "f.jsonl"), "--count", "1"]) == 1
    assert "No such file or directory" in capsys.readouterr().err
