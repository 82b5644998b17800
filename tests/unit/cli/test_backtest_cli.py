"""`screening rules backtest` end to end, offline: report, files, comparison, bad arguments."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import orjson
import pytest

from pipeline.cli.main import main
from pipeline.samples.generator import GeneratorConfig
from pipeline.samples.record import record
from tests.factories import encoded

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "rules"


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    path = tmp_path / "recorded.jsonl"
    lines = [encoded("ARMS-1", hs_code="930690"), encoded("CLEAN-1", hs_code="940360"), b"not json"]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.fixture
def candidate(tmp_path: Path) -> Path:
    """The default rules with HS-ARMS-93 raised to DNL."""
    folder = tmp_path / "candidate"
    shutil.copytree(RULES, folder)
    rule = folder / "goods" / "hs-arms-93.yaml"
    rule.write_text(rule.read_text().replace("action: HRCM", "action: DNL"))
    return folder


def test_report_per_rule_and_files(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    json_out, csv_out = tmp_path / "report.json", tmp_path / "report.csv"
    argv = ["rules", "backtest", str(recorded), "--rules", str(RULES), "--processes", "1"]
    assert main([*argv, "--json-out", str(json_out), "--csv-out", str(csv_out)]) == 0

    out = capsys.readouterr().out
    assert "2 declarations screened: ASSESSMENT_COMPLETE 1 (50.0%), HRCM 1 (50.0%)" in out
    assert "1 hits raised, 1 referrals open at the end" in out
    report = orjson.loads(json_out.read_bytes())
    assert report["rules"]["screened"] == 2
    assert report["rejected"]["lines"] == [
        {
            "sequence": 3,
            "line": 3,
            "code": "INVALID_JSON",
            "message": report["rejected"]["lines"][0]["message"],
            "path": None,
        }
    ]
    arms = next(r for r in report["rules"]["per_rule"] if r["rule_id"] == "HS-ARMS-93")
    assert (arms["matches"], arms["share"], arms["outcomes"]["HRCM"]) == (1, 0.5, 1)
    assert report["against"] is None
    assert report["comparison"] is None
    rows = {row["rule_id"]: row for row in csv.DictReader(csv_out.read_text().splitlines())}
    assert rows["HS-ARMS-93"]["matches"] == "1"
    assert rows["HS-ARMS-93"]["outcome_HRCM"] == "1"
    assert rows["HS-ARMS-93"]["delta"] == ""


def test_against_lists_the_outcomes_that_change(
    recorded: Path, candidate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    json_out, csv_out, changes_out = (
        tmp_path / "r.json",
        tmp_path / "r.csv",
        tmp_path / "changes.csv",
    )
    argv = ["rules", "backtest", str(recorded), "--rules", str(candidate), "--against", str(RULES)]
    argv += ["--json-out", str(json_out), "--csv-out", str(csv_out)]
    assert main([*argv, "--changes-out", str(changes_out), "--processes", "1"]) == 0

    out = capsys.readouterr().out
    assert "1 outcomes change" in out
    assert "HRCM -> DNL: 1" in out
    comparison = orjson.loads(json_out.read_bytes())["comparison"]
    assert comparison["changed"] == [
        {
            "declaration_id": "ARMS-1",
            "version": 1,
            "old_outcome": "HRCM",
            "new_outcome": "DNL",
            "added_rules": [],
            "removed_rules": [],
            "changed_rules": ["HS-ARMS-93"],
        }
    ]
    deltas = {d["rule_id"]: d for d in comparison["rule_deltas"]}
    assert deltas["HS-ARMS-93"]["changed"] is True
    assert deltas["HS-ARMS-93"]["delta"] == 0
    assert list(csv.reader(changes_out.read_text().splitlines())) == [
        [
            "declaration_id",
            "version",
            "old_outcome",
            "new_outcome",
            "added_rules",
            "removed_rules",
            "changed_rules",
        ],
        ["ARMS-1", "1", "HRCM", "DNL", "", "", "HS-ARMS-93"],
    ]
    rows = {row["rule_id"]: row for row in csv.DictReader(csv_out.read_text().splitlines())}
    assert rows["HS-ARMS-93"]["rule_changed"] == "yes"
    assert rows["HS-ARMS-93"]["against_matches"] == "1"


def test_several_processes_give_the_same_report_as_one(tmp_path: Path) -> None:
    recorded = tmp_path / "generated.jsonl"
    aeo = tmp_path / "aeo.csv"
    config = GeneratorConfig(seed=11, risky_share=0.3, malformed_share=0.05, amendment_share=0.3)
    record(recorded, 600, config, aeo)
    reports = []
    for processes in ("1", "2"):
        out = tmp_path / f"report-{processes}.json"
        argv = ["rules", "backtest", str(recorded), "--rules", str(RULES), "--aeo", str(aeo)]
        argv += ["--watchlist", str(ROOT / "deploy/sample-data/watchlist.csv")]
        assert main([*argv, "--processes", processes, "--json-out", str(out)]) == 0
        reports.append(orjson.loads(out.read_bytes()))
    assert reports[0] == reports[1]
    assert reports[0]["rules"]["screened"] > 500


@pytest.mark.parametrize(
    "extra",
    [
        ["--changes-out", "changes.csv"],  # needs --against
        ["--json-out", "/no/such/folder/report.json"],
        ["--processes", "0"],
        ["--aeo", "/no/such/aeo.csv"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_code_2(
    recorded: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "backtest", str(recorded), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("screening: error: ")
    assert "\n" not in err


def test_a_missing_file_is_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "backtest", "/no/such/recorded.jsonl"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_bad_rule_folder_gets_the_loaders_file_line_and_reason(
    recorded: Path, candidate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = candidate / "goods" / "hs-arms-93.yaml"
    rule.write_text(rule.read_text().replace("action: DNL", "action: SEIZE"))
    assert main(["rules", "backtest", str(recorded), "--rules", str(candidate)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("screening: rule set refused, 1 problem:")
    assert f"{rule}:9: `action` is one of SCORE, RFI, HRCM, DNL" in err
