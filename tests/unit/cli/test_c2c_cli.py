"""`screening c2c validate`: a summary when valid, every problem with file:line when not."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli.main import main

ROOT = Path(__file__).resolve().parents[3]


def test_the_shipped_agreements_validate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["c2c", "validate", str(ROOT / "agreements")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"{ROOT / 'agreements'}: 2 sharing agreements valid: CN (cn), US (us)"


def test_the_default_folder_is_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCREENING_AGREEMENTS_DIR", str(tmp_path))
    assert main(["c2c", "validate"]) == 0
    assert capsys.readouterr().err.strip() == (
        f"{tmp_path}: no sharing agreement: nothing is sent to or accepted from partners"
    )


def test_invalid_files_list_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = (ROOT / "agreements" / "cn.yaml").read_text()
    broken = shipped.replace("[container_ids, transport_document_number, summary]", "[score]", 1)
    broken = broken.replace("handling: C2C-RESTRICTED", "handling: secret please")
    path = tmp_path / "cn.yaml"
    path.write_text(broken)
    assert main(["c2c", "validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "sharing agreements refused, 2 problems:" in err
    assert f"{path}:" in err
    assert "`score` may not be shared: scores never leave" in err
    assert "`handling` is a code of A-Z, 0-9 and -" in err


def test_an_overdue_review_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shipped = (ROOT / "agreements" / "us.yaml").read_text()
    path = tmp_path / "us.yaml"
    path.write_text(shipped.replace("review_by: 2027-03-31", "review_by: 2020-01-01"))
    assert main(["c2c", "validate", str(tmp_path)]) == 0
    assert f"warning: {path}: review was due on 2020-01-01" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [["c2c", "validate", "/nonexistent/agreements"], ["c2c", "validate", "--strict"]],
)
def test_a_bad_argument_is_one_line_and_exit_code_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("screening: error: ")
    assert "\n" not in err
