"""The command line's standard: a bad argument, setting or input file is one line on stderr and
exit code 2, a failure is one line and exit code 1, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import orjson
import pytest
import typer
from pydantic import ValidationError

from pipeline.cli import common
from pipeline.cli.main import app, main
from pipeline.reference.csv_load import AEO_HEADER, WATCHLIST_HEADER
from tests.factories import encoded, filing

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "rules"


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    path = tmp_path / "recorded.jsonl"
    path.write_bytes(encoded("ARMS-1", hs_code="930690") + b"\nnot json\n")
    return path


@pytest.fixture
def all_invalid(tmp_path: Path) -> Path:
    wrong_name = filing("BAD-1")
    wrong_name["consignee"]["name"] = 5
    wrong_hs = filing("BAD-2", hs_code="ABC")
    no_id = filing("BAD-3")
    del no_id["declaration_id"]
    no_name = filing("BAD-4")
    del no_name["consignor"]["name"]
    lines = [b"not json", *map(orjson.dumps, [wrong_name, wrong_hs, no_id, no_name])]
    path = tmp_path / "invalid.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _backtest(*args: str) -> list[str]:
    return ["rules", "backtest", *args, "--rules", str(RULES), "--processes", "1"]


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert "\n" not in err, err
    return err


# --- 1. settings from the environment ------------------------------------------------------


def test_a_bad_setting_in_a_real_process_is_one_line_and_exit_2(recorded: Path) -> None:
    env = {**os.environ, "SCREENING_PARTITIONS": "abc"}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "rules", "backtest", str(recorded)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "screening: error: SCREENING_PARTITIONS: Input should be a valid integer, unable to "
        "parse string as an integer (got 'abc')"
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["rules", "backtest", "RECORDED"],
        ["topics", "ensure"],
        ["hits"],
        ["rules", "status"],
        ["c2c", "validate"],
        ["report", "safe", "--from", "2026-11-01", "--to", "2026-11-02"],
        ["acl", "apply"],
        ["accounts", "migrate"],
        ["worker", "--no-ensure-topics"],
        ["workbench", "--no-ensure-topics"],
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable_for_every_command(
    argv: list[str],
    recorded: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SCREENING_PARTITIONS", "0")
    argv = [str(recorded) if arg == "RECORDED" else arg for arg in argv]
    assert main(argv) == 2
    assert _one_line(capsys) == (
        "screening: error: SCREENING_PARTITIONS: Input should be greater than or equal to 1 "
        "(got '0')"
    )


@pytest.mark.parametrize("command", ["worker", "workbench"])
def test_a_bad_log_level_setting_is_one_line_and_exit_2(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCREENING_LOG_LEVEL", "verbose")
    assert main([command, "--no-ensure-topics"]) == 2
    assert _one_line(capsys) == (
        "screening: error: SCREENING_LOG_LEVEL: Input should be 'debug', 'info', 'warning' or "
        "'error' (got 'verbose')"
    )


def test_a_secret_setting_is_never_repeated() -> None:
    assert common._is_secret("database_url")
    assert common._is_secret("kafka_sasl_password")
    assert not common._is_secret("partitions")


# --- 2. worker --log-level ------------------------------------------------------------------


def test_an_unknown_log_level_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--log-level", "verbose"]) == 2
    err = _one_line(capsys)
    assert err.startswith("screening: error: Invalid value for '--log-level': 'verbose' is not")


@pytest.mark.parametrize("given", ["DEBUG", "Warning", "error", "info"])
def test_a_log_level_is_taken_in_any_case(given: str) -> None:
    worker = typer.main.get_command(app).commands["worker"]  # type: ignore[attr-defined]
    ctx = worker.make_context("worker", ["--log-level", given])
    assert ctx.params["log_level"] == given.lower()


# --- 3. a file that is not UTF-8 ------------------------------------------------------------


def _latin1_csv(tmp_path: Path, header: tuple[str, ...], row: str) -> Path:
    path = tmp_path / "latin1.csv"
    path.write_bytes((",".join(header) + "\n" + row + "\n").encode("latin-1"))
    return path


@pytest.mark.parametrize(
    ("argv", "header", "row"),
    [
        (["aeo", "load"], AEO_HEADER, "NLAEOF1,AEO,Café BV,NL,AEOF,ACTIVE,2020-01-01,,"),
        (["aeo", "sync"], AEO_HEADER, "NLAEOF1,AEO,Café BV,NL,AEOF,ACTIVE,2020-01-01,,"),
        (["watchlist", "load"], WATCHLIST_HEADER, "E1,Café,,NL,,OFAC,DNL,listed"),
        (["watchlist", "sync"], WATCHLIST_HEADER, "E1,Café,,NL,,OFAC,DNL,listed"),
    ],
)
def test_a_list_file_not_in_utf8_is_refused_with_file_and_line(
    argv: list[str],
    header: tuple[str, ...],
    row: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _latin1_csv(tmp_path, header, row)
    assert main([*argv, str(path)]) == 1
    assert _one_line(capsys) == f"screening: {path}:2: not UTF-8 text"


@pytest.mark.parametrize("option", ["--aeo", "--watchlist"])
def test_a_backtest_list_not_in_utf8_is_refused(
    option: str, recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = AEO_HEADER if option == "--aeo" else WATCHLIST_HEADER
    path = _latin1_csv(tmp_path, header, ",".join(["é"] * len(header)))
    assert main(_backtest(str(recorded), option, str(path))) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing screened
    assert captured.err == f"screening: {path}:2: not UTF-8 text\n"


@pytest.mark.parametrize("command", ["validate", "backtest"])
def test_a_rule_list_not_in_utf8_is_refused_with_file_and_line(
    command: str, recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    names = folder / "lists" / "stop_party_names.txt"
    lines = names.read_bytes().count(b"\n")
    names.write_bytes(names.read_bytes() + "Café\n".encode("latin-1"))
    argv = ["rules", "validate", str(folder)]
    if command == "backtest":
        argv = ["rules", "backtest", str(recorded), "--rules", str(folder)]
    assert main(argv) == 1
    error = capsys.readouterr().err
    assert f"{names}:{lines + 1}: not UTF-8 text: byte 0xe9" in error
    assert "Traceback" not in error


# --- 4. a backtest list with a wrong header ---------------------------------------------------


@pytest.mark.parametrize(("option", "text"), [("--aeo", "id,name\nA,B\n"), ("--watchlist", "")])
def test_a_backtest_list_with_a_wrong_header_stops_before_screening(
    option: str, text: str, recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "list.csv"
    path.write_text(text, encoding="utf-8")
    assert main(_backtest(str(recorded), option, str(path))) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing screened
    assert "\n" not in captured.err.strip()
    assert f"Invalid value for {option}: {path}:1: " in captured.err


def test_a_backtest_list_with_a_wrong_header_is_one_line(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "watchlist.csv"
    path.write_text(",".join(WATCHLIST_HEADER) + "\n", encoding="utf-8")
    assert main(_backtest(str(recorded), "--aeo", str(path))) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (
        f"screening: error: Invalid value for --aeo: {path}:1: header must be "
        f"{','.join(AEO_HEADER)} (try: screening rules backtest --help)"
    )


# --- 5. a backtest that screens nothing -------------------------------------------------------


def test_a_backtest_with_every_line_invalid_fails_and_says_why(
    all_invalid: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_backtest(str(all_invalid))) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "5 lines rejected: missing field (2), not JSON (1), invalid name (1), invalid hs_code (1)"
    ]
    err = captured.err.splitlines()
    assert "Traceback" not in captured.err
    assert err[0].startswith(f"{all_invalid}:1: INVALID_JSON: not valid JSON")
    assert err[1] == f"{all_invalid}:2: SCHEMA at consignee.name: Expected `str`, got `int`"
    assert err[2].startswith(f"{all_invalid}:3: SCHEMA at goods[0].hs_code: Expected `str`")
    assert err[3] == f"{all_invalid}:4: SCHEMA: Object missing required field `declaration_id`"
    assert err[4] == f"{all_invalid}:5: SCHEMA at consignor: Object missing required field `name`"
    assert err[-1] == f"screening: {all_invalid}: nothing screened, all 5 lines rejected"


def test_an_empty_backtest_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"\n")
    assert main(_backtest(str(path))) == 1
    assert _one_line(capsys) == f"screening: {path}: nothing screened, no declaration in it"


def test_rejections_keep_their_json_path_in_the_report(
    all_invalid: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with all_invalid.open("ab") as handle:
        handle.write(encoded("GOOD-1") + b"\n")
    json_out = tmp_path / "report.json"
    assert main([*_backtest(str(all_invalid)), "--json-out", str(json_out)]) == 0
    out = capsys.readouterr().out
    assert "1 declarations screened: ASSESSMENT_COMPLETE 1 (100.0%)" in out
    assert "5 lines rejected: missing field (2), not JSON (1), invalid name (1)" in out
    assert "{" not in out.splitlines()[-1]
    lines = orjson.loads(json_out.read_bytes())["rejected"]["lines"]
    assert [line["path"] for line in lines] == [
        None,
        "$.consignee.name",
        "$.goods[0].hs_code",
        "$",
        "$.consignor",
    ]


# --- 6. --json-out - --------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--json-out", "--csv-out", "--assessments-out"])
def test_an_output_of_dash_is_standard_output(
    option: str,
    recorded: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([*_backtest(str(recorded)), option, "-"]) == 0
    captured = capsys.readouterr()
    assert not (tmp_path / "-").exists()
    if option == "--json-out":
        assert orjson.loads(captured.out)["rules"]["screened"] == 1
    elif option == "--csv-out":
        assert captured.out.startswith("rule_id,rule_version,")
    else:
        assert orjson.loads(captured.out.splitlines()[0])["declaration_id"] == "ARMS-1"
    # The report goes to stderr instead, so that standard output holds the file alone.
    assert "1 declarations screened" in captured.err


def test_two_outputs_cannot_both_be_standard_output(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*_backtest(str(recorded)), "--json-out", "-", "--csv-out", "-"]) == 2
    assert "only one output can go to standard output" in _one_line(capsys)


# --- 7. a missing input file ------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["send", "MISSING"],
        ["aeo", "load", "MISSING"],
        ["aeo", "sync", "MISSING"],
        ["watchlist", "load", "MISSING"],
        ["watchlist", "sync", "MISSING"],
        ["rules", "validate", "MISSING"],
        ["rules", "publish", "MISSING"],
        ["rules", "publish", str(RULES), "--expected", "MISSING"],
        ["rules", "backtest", "MISSING", "--rules", str(RULES)],
        ["rules", "backtest", "RECORDED", "--rules", "MISSING"],
        ["rules", "backtest", "RECORDED", "--rules", str(RULES), "--against", "MISSING"],
        ["rules", "backtest", "RECORDED", "--rules", str(RULES), "--aeo", "MISSING"],
        ["rules", "backtest", "RECORDED", "--rules", str(RULES), "--watchlist", "MISSING"],
        ["c2c", "validate", "MISSING"],
    ],
)
def test_a_missing_input_file_is_a_usage_error(
    argv: list[str], recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "missing")
    argv = [{"MISSING": missing, "RECORDED": str(recorded)}.get(arg, arg) for arg in argv]
    assert main(argv) == 2
    err = _one_line(capsys)
    assert err.startswith("screening: error: Invalid value for ")
    assert f"'{missing}' does not exist" in err


# --- 8. --version -----------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"screening {metadata.version('customs-screening')}\n"


# --- 9. generate --out ------------------------------------------------------------------------


def test_generate_writes_a_file_that_send_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing is published: no broker is reachable at this address.
    monkeypatch.setenv("SCREENING_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    path = tmp_path / "generated.jsonl"
    assert main(["generate", "-n", "20", "--seed", "7", "--out", str(path)]) == 0
    ids = [orjson.loads(line)["declaration_id"] for line in path.read_bytes().splitlines()]
    assert len(ids) == 20
    assert capsys.readouterr().err == f"wrote 20 messages to {path}\n"

    assert main(["generate", "-n", "20", "--seed", "7", "--out", "-"]) == 0
    captured = capsys.readouterr()
    assert [orjson.loads(line)["declaration_id"] for line in captured.out.splitlines()] == ids
    assert captured.err == "wrote 20 messages to standard output\n"


@pytest.mark.parametrize("extra", [["--rate", "5"], ["--publish-aeo"]])
def test_generate_out_refuses_the_publishing_options(
    extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "generated.jsonl"
    assert main(["generate", "-n", "5", "--out", str(out), *extra]) == 2
    assert "not with --out" in _one_line(capsys)
    assert not out.exists()


# --- 10. --help -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["rules", "backtest"],
        ["rules", "validate"],
        ["generate"],
        ["hits"],
        ["send"],
        ["aeo", "sync"],
    ],
)
def test_help_shows_defaults_without_escapes(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--help"]) == 0
    out = capsys.readouterr().out
    assert "[default" in out
    assert "\\[" not in out


# --- 11. the default rule folder --------------------------------------------------------------


def test_the_default_rules_are_the_folder_here_or_else_the_packaged_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert common.default_rules_dir() == Path("rules")
    monkeypatch.chdir(tmp_path)
    packaged = common.default_rules_dir()
    assert packaged == common.PACKAGED_RULES
    shipped = sorted(p.relative_to(packaged) for p in packaged.rglob("*") if p.is_file())
    assert shipped == sorted(p.relative_to(RULES) for p in RULES.rglob("*") if p.is_file())


def test_a_rule_folder_setting_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert common.load_settings().scoring.rules_dir == common.PACKAGED_RULES
    monkeypatch.setenv("SCREENING_RULES_DIR", "/srv/rules")
    assert common.load_settings().scoring.rules_dir == Path("/srv/rules")


def test_an_option_is_validated_as_its_variable_would_be(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCREENING_PARTITIONS", "6")
    settings = common.load_settings("broker:9093", replication_factor=3)
    assert (
        settings.kafka.servers,
        settings.topics.partitions,
        settings.topics.replication_factor,
    ) == (
        "broker:9093",
        6,
        3,
    )
    assert settings.is_set("replication_factor")
    with pytest.raises(ValidationError) as refused:
        common.load_settings(partitions=0)
    assert common.settings_problems(refused.value) == [
        "SCREENING_PARTITIONS: Input should be greater than or equal to 1 (got 0)"
    ]
    with pytest.raises(TypeError, match="no such settings: partition"):
        common.load_settings(partition=6)


def test_rules_validate_without_a_folder_here_uses_the_packaged_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["rules", "validate"]) == 0
    assert capsys.readouterr().err.startswith(f"{common.PACKAGED_RULES}: ")
