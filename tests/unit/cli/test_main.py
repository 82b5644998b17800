"""The console script's handling of bad arguments: one line on stderr, exit code 2."""

from __future__ import annotations

import pytest

from pipeline.cli.main import main


@pytest.mark.parametrize(
    "argv",
    [
        ["no-such-command"],
        ["hits", "--limit", "many"],
        ["hits", "--no-such-flag"],
        ["generate"],  # --count is required
        ["generate", "--count", "0"],
        ["generate", "--count", "5", "--rate", "-1"],
        ["worker", "--web-port", "70000"],
        ["send"],
    ],
)
def test_bad_argument_is_one_line_and_exit_code_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("screening: error: ")
    assert "\n" not in err


def test_missing_file_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", "/nonexistent/declarations.jsonl"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "screening: error: Invalid value for 'FILE': File '/nonexistent/declarations.jsonl' "
        "does not exist. (try: screening send --help)"
    )


def test_unreachable_broker_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["topics", "ensure", "--bootstrap", "127.0.0.1:1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("screening: cannot reach Kafka at 127.0.0.1:1")
    assert "\n" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["workbench", "--port", "0"],
        ["workbench", "--no-such-flag"],
        ["workbench", "--demo-accounts"],  # SCREENING_DEMO_PASSWORD unset
        ["accounts", "add", "someone", "--role", "boss", "--name", "Some One"],
        ["accounts", "add", "someone"],  # --role and --name are required
    ],
)
def test_bad_workbench_argument_is_one_line_and_exit_code_2(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SCREENING_DEMO_PASSWORD", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("screening: error: ")
    assert "\n" not in err


def test_unreachable_database_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCREENING_DATABASE_URL", "postgresql://someone:secret@127.0.0.1:1/cases")
    assert main(["accounts", "migrate"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("screening: cannot reach the case database at 127.0.0.1:1/cases")
    assert "secret" not in err
    assert "\n" not in err
