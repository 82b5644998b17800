"""`screening archive` compact, prune and stats, and the readers of `screening rules backtest
--from-archive` and `screening report safe --from-archive`, on an archive written here."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import orjson
import pytest

from pipeline import topics
from pipeline.archive.records import ArchiveRecord
from pipeline.archive.writer import write_batch
from pipeline.cli.main import main
from pipeline.feedback.safe import Period, SafeMeasures
from pipeline.records import InputRecord
from pipeline.rules.evaluator import RANDOM_RULE_ID
from tests.factories import encoded
from tests.unit.archive.helpers import DAY1_MS, DAY2_MS, rec
from tests.unit.feedback.test_safe import assessment, examination, message

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "rules"
# The commands' clock is pinned: a run that passes midnight must not change what they count.
TODAY = date(2026, 12, 6)
NL_TOPIC = topics.partner_inbound_topic("nl")


def _archived(records: list[InputRecord], timestamp_ms: int = DAY1_MS) -> list[ArchiveRecord]:
    return [
        ArchiveRecord(r.topic, r.partition, offset, r.key, r.value, timestamp_ms)
        for offset, r in enumerate(records)
    ]


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for command in ("archive", "report"):
        monkeypatch.setattr(f"pipeline.cli.{command}.today_utc", lambda: TODAY)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    write_batch(root, [rec(0), rec(1), rec(0, partition=1)], TODAY)
    write_batch(root, [rec(1), rec(2)], TODAY)  # overlaps the first file
    write_batch(root, [rec(5, topic=topics.HITS, timestamp_ms=DAY2_MS)], TODAY)
    return root


def test_stats_compact_and_prune(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["archive", "stats", "--archive-dir", str(archive), "--json"]) == 0
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["topic"], x["day"], x["files"], x["rows"]) for x in lines] == [
        (topics.ASSESSMENTS, "2026-11-20", 3, 5),
        (topics.HITS, "2026-11-21", 1, 1),
    ]
    compact = ["archive", "compact", "--archive-dir", str(archive), "--before", "2026-11-21"]
    assert main(compact) == 0
    out = capsys.readouterr().out
    assert f"{topics.ASSESSMENTS} 2026-11-20: 3 files, 5 rows -> 4" in out
    assert "1 days compacted" in out

    assert main(["archive", "stats", "--archive-dir", str(archive)]) == 0
    table = capsys.readouterr().out
    assert "2026-11-20" in table
    assert "total" in table

    keep = (TODAY - date(2026, 11, 21)).days
    assert main(["archive", "prune", "--archive-dir", str(archive), "--keep-days", str(keep)]) == 0
    assert f"deleted {topics.ASSESSMENTS} 2026-11-20" in capsys.readouterr().out
    assert not (archive / topics.ASSESSMENTS / "date=2026-11-20").exists()
    assert (archive / topics.HITS / "date=2026-11-21").exists()


def test_prune_keeps_the_retention_setting_by_default(
    archive: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCREENING_ARCHIVE_DIR", str(archive))
    assert main(["archive", "prune", "--dry-run"]) == 0
    assert "0 days would delete, keeping 2557 days" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["archive", "compact", "--before", "2026-02-30"], "'2026-02-30' is not a date"),
        (["archive", "stats", "--since", "2026-11-21", "--until", "2026-11-20"], "is after"),
        (["archive", "prune", "--keep-days", "0"], "--keep-days"),
        (["archive", "stats", "--archive-dir", "/nonexistent/x"], "does not exist"),
        (["rules", "backtest", "--since", "2026-11-20"], "--since and --until need"),
        (["rules", "backtest"], "give FILE.jsonl or --from-archive"),
        (["rules", "backtest", "--from-archive", "/nonexistent/x"], "does not exist"),
        (
            [
                "report",
                "safe",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-02",
                "--from-archive",
                "/x/y",
            ],
            "does not exist",
        ),
    ],
)
def test_bad_arguments_are_one_line_and_exit_code_2(
    argv: list[str], message: str, archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if argv[:2] == ["archive", "compact"] or argv[:2] == ["archive", "stats"]:
        argv = [*argv, "--archive-dir", str(archive)] if "--archive-dir" not in argv else argv
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("screening: error: ")
    assert "\n" not in err
    assert message in err


def test_a_backtest_screens_the_archived_declarations_of_the_days_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "archive"
    day1 = [
        encoded("ARMS-1", hs_code="930690"),
        encoded("CLEAN-1", hs_code="940360"),
        # Spread over lines: still one declaration.
        orjson.dumps(orjson.loads(encoded("ARMS-2", hs_code="930690")), option=orjson.OPT_INDENT_2),
    ]
    records = [
        ArchiveRecord(topics.DECLARATIONS, 0, o, None, v, DAY1_MS) for o, v in enumerate(day1)
    ]
    write_batch(root, records, TODAY)
    write_batch(root, records[1:], TODAY)  # stored twice until compacted: screened once
    later = ArchiveRecord(
        topics.DECLARATIONS, 0, 9, None, encoded("ARMS-3", hs_code="930690"), DAY2_MS
    )
    write_batch(root, [later], TODAY)

    json_out = tmp_path / "report.json"
    argv = ["rules", "backtest", "--from-archive", str(root), "--rules", str(RULES)]
    period = ["--since", "2026-11-20", "--until", "2026-11-20"]
    assert main([*argv, *period, "--processes", "1", "--json-out", str(json_out)]) == 0
    captured = capsys.readouterr()
    assert "3 declarations read from the archive" in captured.err
    report = orjson.loads(json_out.read_bytes())
    assert report["rules"]["screened"] == 3
    assert report["rules"]["outcomes"]["HRCM"] == 2
    assert report["rejected"]["count"] == 0
    # The temporary file is gone with the command.
    assert not Path(report["file"]).exists()

    assert (
        main([*argv, "--since", "2026-11-20", "--processes", "1", "--json-out", str(json_out)]) == 0
    )
    assert orjson.loads(json_out.read_bytes())["rules"]["screened"] == 4


def _safe_records() -> list[InputRecord]:
    return [
        assessment("H1", "HRCM", "HS-ARMS-93"),
        assessment("H1", "HRCM", "HS-ARMS-93"),  # redelivered
        assessment("C1", "ASSESSMENT_COMPLETE"),
        assessment("X1", "RFI", RANDOM_RULE_ID),
        examination("H1", "SEIZURE"),
        examination("X1", "NO_FINDING"),
        message(topics.C2C_OUTBOUND, "m1", "RISK_FINDING", "GB", "NL"),
        message(NL_TOPIC, "n1", "EXAMINATION_RESULT", "NL", "GB"),
    ]


def test_the_safe_report_from_the_archive_counts_as_from_kafka(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "archive"
    sent = _safe_records()
    by_topic: dict[str, list[InputRecord]] = {}
    for record in sent:
        by_topic.setdefault(record.topic, []).append(record)
    for records in by_topic.values():
        write_batch(root, _archived(records), TODAY)

    period = Period(date(2026, 11, 20), date(2026, 11, 30))
    measures = SafeMeasures(period)
    measures.add_assessments(by_topic[topics.ASSESSMENTS])
    measures.add_examination_results(by_topic[topics.EXAMINATION_RESULTS])
    measures.add_partner_messages(by_topic[topics.C2C_OUTBOUND])
    measures.note_partner_topic(NL_TOPIC)
    measures.add_partner_messages(by_topic[NL_TOPIC])
    expected = measures.report(TODAY)
    expected["warnings"] = []  # the archive holds the period: Kafka's retention does not matter

    argv = ["report", "safe", "--from", "2026-11-20", "--to", "2026-11-30", "--json"]
    assert main([*argv, "--from-archive", str(root)]) == 0
    captured = capsys.readouterr()
    assert orjson.loads(captured.out) == expected
    assert expected["filings"]["screened"] == 3
    assert captured.err == ""

    # A period the archive does not reach back to is reported with a warning.
    early = ["report", "safe", "--from", "2026-10-01", "--to", "2026-11-30", "--json"]
    assert main([*early, "--from-archive", str(root)]) == 0
    assert "the archive holds assessments from 2026-11-20" in capsys.readouterr().err
