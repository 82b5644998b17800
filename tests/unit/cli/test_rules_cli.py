"""`screening rules validate` and `backtest`, without a broker."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from pipeline.cli.main import main
from pipeline.rules.cases import BASE_DECLARATION, merge

ROOT = Path(__file__).resolve().parents[3]


def test_the_default_rules_validate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "validate", str(ROOT / "rules")]) == 0
    err = capsys.readouterr().err
    assert "cases pass; version rs-" in err


def test_a_broken_rule_file_is_refused_with_file_line_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = tmp_path / "broken.yaml"
    rule.write_text(
        "id: BROKEN\n"
        "version: 1\n"
        "title: Broken\n"
        "owner: tests\n"
        "reason: r\n"
        "review_by: 2027-01-01\n"
        "mode: active\n"
        "action: HRCM\n"
        "score: 10\n"
        "when:\n"
        "  any_goods:\n"
        "    hs_cod: {prefix: '93'}\n"
        "cases: {match: [{}]}\n"
    )
    assert main(["rules", "validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{rule}:12: unknown goods field `hs_cod`" in err


def test_a_rule_whose_case_fails_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "wrong.yaml").write_text(
        "id: WRONG\nversion: 1\ntitle: t\nowner: o\nreason: r\nreview_by: 2027-01-01\n"
        "mode: active\naction: RFI\nscore: 1\n"
        "when: {any_goods: {hs_chapter: '93'}}\n"
        "cases: {match: [{goods: [{hs_code: '940360'}]}]}\n"
    )
    assert main(["rules", "validate", str(tmp_path)]) == 1
    assert "WRONG cases.match[0]: expected the rule to match" in capsys.readouterr().err


def test_backtest_reports_hits_per_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arms = merge(BASE_DECLARATION, {"goods": [{"hs_code": "930690"}]})
    recorded = tmp_path / "recorded.jsonl"
    recorded.write_bytes(
        orjson.dumps(BASE_DECLARATION) + b"\n" + orjson.dumps(arms) + b"\nnot json\n"
    )
    assert main(["rules", "backtest", str(recorded), "--rules", str(ROOT / "rules")]) == 0
    out = capsys.readouterr().out
    assert "2 declarations screened: ASSESSMENT_COMPLETE 1 (50.0%), HRCM 1 (50.0%)" in out
    assert "1 lines rejected: {'INVALID_JSON': 1}" in out
    assert "HS-ARMS-93" in out
