"""``screening rules effectiveness``: per rule, what examinations found in its referrals.

The figures come from Kafka, not from a worker: the command reads the assessments topic and
the examination results topic from their start and runs them through the worker's own join
(``pipeline.feedback``). They cover what the topics hold (their retention), whether or not a
worker runs, and a redelivered record counts once, as in the worker.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline import topics
from pipeline.cli.common import BootstrapOption, load_settings
from pipeline.feedback.feed import DictJoinStore, FeedResult, feed
from pipeline.feedback.report import build_report
from pipeline.kafka.reader import TopicReader
from pipeline.records import InputRecord
from pipeline.settings import KafkaSettings

_SHOWN_UNMATCHED = 10
stdout = Console(soft_wrap=True)


def effectiveness(
    as_json: bool = typer.Option(False, "--json", help="One JSON document instead of a table."),
    bootstrap: BootstrapOption = None,
) -> None:
    """Referrals, examinations, findings, precision and lift over unreferred examinations,
    per rule, from the assessments and examination results in Kafka."""
    kafka = load_settings(bootstrap).kafka
    store = DictJoinStore()
    result = FeedResult()
    # Assessments first: an examination result read after them that finds none has none.
    for topic in (topics.ASSESSMENTS, topics.EXAMINATION_RESULTS):
        part = feed(read_all(kafka, topic), store)
        result.tally.add(part.tally)
        result.malformed += part.malformed
    report = build_report(result, store.entries)
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.buffer.flush()
    else:
        _print(report)


def read_all(kafka: KafkaSettings, topic: str) -> Iterator[InputRecord]:
    """Every record of ``topic`` from its start to the end it had when reading began."""
    reader = TopicReader(kafka, topic)
    try:
        while not reader.caught_up:
            for record in reader.poll(1.0):
                yield InputRecord(
                    topic,
                    record.key,
                    record.value,
                    record.partition,
                    record.offset,
                    record.timestamp_ms,
                )
    finally:
        reader.close()


def _print(report: dict[str, Any]) -> None:
    table = Table(title="Rule effectiveness", title_justify="left")
    for column in ("rule", "referrals", "examinations", "seizures", "irregularities"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    table.add_column("precision", justify="right")
    table.add_column("lift", justify="right")
    for row in report["rules"]:
        table.add_row(
            escape(row["rule_id"]),
            str(row["referrals"]),
            str(row["examinations"]),
            str(row["seizures"]),
            str(row["irregularities"]),
            _percent(row["precision"]),
            "n/a" if row["lift"] is None else f"{row['lift']:.2f}",
        )
    stdout.print(table)
    base = report["baseline"]
    stdout.print(
        f"Baseline (examinations of declaration versions not referred): "
        f"{base['examinations']} examinations, {base['findings']} findings, "
        f"finding rate {_percent(base['finding_rate'])}"
    )
    results = report["examination_results"]
    stdout.print(
        f"Examination results: {results['joined']} joined, {results['duplicates']} duplicates, "
        f"{results['conflicts']} conflicting (not applied), {results['malformed']} malformed"
    )
    unmatched = report["without_assessment"]
    stdout.print(f"Examination results without an assessment: {unmatched['count']}")
    for version in unmatched["versions"][:_SHOWN_UNMATCHED]:
        stdout.print(f"  {escape(version['declaration_id'])} v{version['version']}")
    if unmatched["count"] > _SHOWN_UNMATCHED:
        stdout.print(f"  ... and {unmatched['count'] - _SHOWN_UNMATCHED} more (--json lists all)")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"
