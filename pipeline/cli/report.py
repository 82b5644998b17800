"""``screening report safe``: the SAFE performance measures of a period, from Kafka.

Reads the assessments and examination results topics as ``screening rules effectiveness``
does (the same reader, the same join), and the partner messages: ours on
customs.c2c.outbound.v1 and each partner's replicated topic. The counting is in
``pipeline.feedback.safe``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline import topics
from pipeline.archive import read as archived
from pipeline.cli.common import BootstrapOption, console, load_settings, today_utc
from pipeline.cli.effectiveness import read_all
from pipeline.feedback.safe import (
    MESSAGE_KINDS,
    PARTNER_TOPIC,
    REFERRAL_OUTCOMES,
    RESULTS,
    PeriodError,
    SafeMeasures,
    parse_period,
)
from pipeline.kafka.admin import admin_client, existing_partitions
from pipeline.settings import KafkaSettings

app = typer.Typer(
    help="Reports for the administration and its partners.",
    no_args_is_help=True,
)
stdout = Console(soft_wrap=True)

_SHORT_KINDS = {
    "RISK_FINDING": "findings",
    "EXAMINATION_REQUEST": "requests",
    "EXAMINATION_RESULT": "results",
}

_GROUPS = (
    ("high_risk", "high risk"),  # HRCM and DNL
    ("random", "random"),  # RANDOM-SELECTION among the matches
    ("all", "all"),  # every version screened in the period that has a result
)


@app.command("safe")
def safe(
    start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD (UTC).", metavar="DATE"),
    end: str = typer.Option(
        ..., "--to", help="Last day, included, YYYY-MM-DD (UTC).", metavar="DATE"
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON document instead of tables."),
    from_archive: Path | None = typer.Option(
        None,
        "--from-archive",
        metavar="DIR",
        help="Read the archive (screening archive run) instead of Kafka: any period it holds.",
    ),
    bootstrap: BootstrapOption = None,
) -> None:
    """SAFE performance measures (standard 8) for the filings assessed in the period: screened,
    referred, examined (high-risk and at random), findings, and messages exchanged with
    partner administrations. Kafka keeps 30 days: an earlier period is reported with a warning."""
    try:
        period = parse_period(start, end)
    except PeriodError as exc:
        raise click.UsageError(str(exc)) from None
    measures = SafeMeasures(period)
    if from_archive is not None:
        if not from_archive.is_dir():
            raise click.BadParameter(
                f"folder {from_archive} does not exist", param_hint="--from-archive"
            )
        archived.feed_safe(measures, from_archive)
    else:
        kafka = load_settings(bootstrap).kafka
        # Assessments first: an examination result read after them that finds none has none.
        measures.add_assessments(read_all(kafka, topics.ASSESSMENTS))
        measures.add_examination_results(read_all(kafka, topics.EXAMINATION_RESULTS))
        for topic in _message_topics(kafka):
            if topic != topics.C2C_OUTBOUND:
                measures.note_partner_topic(topic)
            measures.add_partner_messages(read_all(kafka, topic))
    report = measures.report(today_utc())
    if from_archive is not None:
        # Kafka's retention does not limit the archive; what it holds does.
        report["warnings"] = archived.safe_warnings(from_archive, period)
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.buffer.flush()
    else:
        _print(report)
    for warning in report["warnings"]:
        console.print(f"warning: {warning}", markup=False, highlight=False)


def _message_topics(kafka: KafkaSettings) -> list[str]:
    """Ours and every partner's that exists; a topic not created yet holds nothing to count."""
    names = existing_partitions(admin_client(kafka), kafka.servers)
    return sorted(
        name for name in names if name == topics.C2C_OUTBOUND or PARTNER_TOPIC.match(name)
    )


def _print(report: dict[str, Any]) -> None:
    period = report["period"]
    stdout.print(f"SAFE performance measures, {period['from']} to {period['to']} (UTC)")
    filings = report["filings"]
    table = Table(title="Filings", title_justify="left")
    for column in ("measure", "count", "share"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row("screened (invalidations apart)", str(filings["screened"]), "")
    for outcome in REFERRAL_OUTCOMES:
        row = filings["by_outcome"][outcome]
        table.add_row(f"referred {outcome}", str(row["count"]), _percent(row["share"]))
    table.add_row("referred", str(filings["referred"]), _percent(filings["referred_share"]))
    stdout.print(table)

    stdout.print(_examinations_table(report["examinations"]))
    stdout.print(
        "Examination results of versions not assessed in the period: "
        f"{report['examinations']['not_in_period']}"
    )

    if report["partners"]:
        stdout.print(_partner_table(report["partners"]))
    else:
        stdout.print("Messages exchanged with partner administrations: none in the period")
    read = ", ".join(report["partner_topics"]) or "none"
    stdout.print(f"Partner topics read: {escape(read)}")
    unreadable = report["unreadable"]
    if any(unreadable.values()):
        stdout.print(
            "Records not read: "
            + ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in unreadable.items())
        )
    stdout.print(
        f"Kafka keeps assessments, examination results and partner messages for "
        f"{report['retention_days']} days: a period reaching further back is reported with a "
        "warning, and its figures hold only what Kafka still has."
    )


def _examinations_table(examinations: dict[str, Any]) -> Table:
    """A column per group, so that the table fits a terminal of 80 columns."""
    table = Table(
        title="Examinations",
        title_justify="left",
        caption="high risk: HRCM and DNL; random: RANDOM-SELECTION among the matches (such a "
        "consignment may be high risk too); examined: NOT_EXAMINED apart; hit rate: findings "
        "(SEIZURE, IRREGULARITY) per examination",
        caption_justify="left",
    )
    table.add_column("")
    for _, label in _GROUPS:
        table.add_column(label, justify="right")
    groups = [examinations[key] for key, _ in _GROUPS]
    table.add_row("consignments", *(str(group["consignments"]) for group in groups))
    for kind in RESULTS:
        table.add_row(kind, *(str(group["results"][kind]) for group in groups))
    table.add_row("examined", *(str(group["examined"]) for group in groups))
    table.add_row("findings", *(str(group["findings"]) for group in groups))
    table.add_row("hit rate", *(_percent(group["hit_rate"]) for group in groups))
    return table


def _partner_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(
        title="Messages exchanged with partner administrations",
        title_justify="left",
        caption="out: ours to the partner; in: the partner's to us",
        caption_justify="left",
    )
    table.add_column("partner")
    table.add_column("")
    for column in (*MESSAGE_KINDS, "total"):
        table.add_column(_SHORT_KINDS.get(column, column), justify="right")
    for row in rows:
        for direction, label in (("sent", "out"), ("received", "in")):
            counts = row[direction]
            table.add_row(
                escape(row["partner"]) if direction == "sent" else "",
                label,
                *(str(counts[kind]) for kind in (*MESSAGE_KINDS, "total")),
            )
    return table


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"
