"""`screening report safe`: bad periods in one line with exit code 2, the topics it reads,
and the tables it prints; Kafka is replaced by records in memory."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from rich.console import Console

from pipeline import topics
from pipeline.cli import report
from pipeline.cli.main import main
from pipeline.records import InputRecord
from pipeline.settings import Settings
from tests.unit.feedback.test_safe import assessment, examination, message

NL_TOPIC = topics.partner_inbound_topic("nl")
RECORDS = {
    topics.ASSESSMENTS: [
        assessment("H1", "HRCM", "HS-ARMS-93"),
        assessment("C1", "ASSESSMENT_COMPLETE"),
    ],
    topics.EXAMINATION_RESULTS: [examination("H1", "SEIZURE")],
    topics.C2C_OUTBOUND: [message(topics.C2C_OUTBOUND, "m1", "RISK_FINDING", "GB", "NL")],
    NL_TOPIC: [message(NL_TOPIC, "n1", "EXAMINATION_RESULT", "NL", "GB")],
}


@pytest.fixture
def kafka(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The topics read, in order; the cluster holds RECORDS and one unrelated topic."""
    read: list[str] = []

    def read_all(settings: Settings, topic: str) -> Iterator[InputRecord]:
        read.append(topic)
        yield from RECORDS[topic]

    def existing(admin: object, bootstrap: str = "") -> dict[str, int]:
        names = [
            *RECORDS,
            "customs.declarations.v1",
            "nl.heartbeats",
            "a.b.customs.c2c.outbound.v1",
        ]
        return dict.fromkeys(names, 4)

    monkeypatch.setattr(report, "read_all", read_all)
    monkeypatch.setattr(report, "existing_partitions", existing)
    monkeypatch.setattr(report, "admin_client", lambda settings: object())
    monkeypatch.setattr(report, "stdout", Console(width=250))
    return read


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "2026-11-01", "--to", "2026-13-01"], "--to '2026-13-01' is not a date"),
        (["--from", "1/11/2026", "--to", "2026-11-30"], "--from '1/11/2026' is not a date"),
        (["--from", "2026-12-01", "--to", "2026-11-30"], "--from 2026-12-01 is after --to"),
        (["--to", "2026-11-30"], "Missing option '--from'"),
    ],
)
def test_a_bad_period_is_one_line_and_exit_code_2(
    argv: list[str], message: str, kafka: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "safe", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("screening: error: ")
    assert message in err
    assert "\n" not in err
    assert kafka == []


def test_json_reads_every_topic_and_counts_the_period(
    kafka: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "safe", "--from", "2026-11-01", "--to", "2026-11-30", "--json"]) == 0
    captured = capsys.readouterr()
    document = orjson.loads(captured.out)
    # Assessments before examination results; partner topics only as MirrorMaker 2 names them.
    assert kafka == [topics.ASSESSMENTS, topics.EXAMINATION_RESULTS, topics.C2C_OUTBOUND, NL_TOPIC]
    assert document["filings"]["screened"] == 2
    assert document["examinations"]["high_risk"]["examined"] == 1
    assert document["partner_topics"] == [NL_TOPIC]
    assert [row["partner"] for row in document["partners"]] == ["NL"]
    # A month long past: reported, with a warning on stderr as well as in the document.
    assert document["warnings"]
    assert captured.err.startswith("warning: Kafka keeps assessments for 30 days")


def test_the_tables_show_filings_examinations_and_partners(
    kafka: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "safe", "--from", "2026-11-01", "--to", "2026-11-30"]) == 0
    out = capsys.readouterr().out
    assert "SAFE performance measures, 2026-11-01 to 2026-11-30 (UTC)" in out

    def cells(label: str) -> list[str]:
        row = next(line for line in out.splitlines() if line.startswith(f"│ {label}"))
        return [cell.strip() for cell in row.split("│")[1:-1]]

    assert cells("screened") == ["screened (invalidations apart)", "2", ""]
    assert cells("referred HRCM") == ["referred HRCM", "1", "50.0%"]
    assert cells("SEIZURE") == ["SEIZURE", "1", "0", "1"]
    assert cells("hit rate") == ["hit rate", "100.0%", "n/a", "100.0%"]
    assert cells("NL") == ["NL", "out", "1", "0", "0", "1"]
    assert "│ in  │        0 │        0 │       1 │     1 │" in out
    assert f"Partner topics read: {NL_TOPIC}" in out
    assert "Kafka keeps assessments, examination results and partner messages for 30 days" in out
