"""`screening rules effectiveness` renders its report: undefined ratios as n/a."""

from __future__ import annotations

import pytest
from rich.console import Console

from pipeline.cli import effectiveness
from pipeline.feedback.feed import DictJoinStore, FeedResult
from pipeline.feedback.join import PENDING, JoinEntry
from pipeline.feedback.report import build_report


def test_the_table_shows_rules_baseline_and_results_without_an_assessment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(effectiveness, "stdout", Console(width=160))
    result = FeedResult()
    result.tally.referrals.update({"HS-ARMS-93": 3})
    store = DictJoinStore()
    for n in range(12):
        store.entries[f"GHOST-{n:02d}/1"] = JoinEntry(PENDING, "SEIZURE")
    effectiveness._print(build_report(result, store.entries))
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "HS-ARMS-93" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == ["HS-ARMS-93", "3", "0", "0", "0", "n/a", "n/a"]
    assert "0 examinations, 0 findings, finding rate n/a" in out
    assert "Examination results without an assessment: 12" in out
    assert "GHOST-00 v1" in out
    assert "GHOST-10" not in out
    assert "and 2 more (--json lists all)" in out
