"""``screening archive``: keep assessments, hits, dead letters and declarations for years.

``run`` is the long-running archiver (a consumer group of its own); ``compact``, ``prune``
and ``stats`` work on the archive folder alone, without Kafka.
"""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import threading
from datetime import date, datetime
from pathlib import Path
from types import FrameType

import click
import orjson
import typer
from prometheus_client import start_http_server
from rich.console import Console
from rich.table import Table

from pipeline import logs, topics
from pipeline.archive import metrics
from pipeline.archive.compact import compact as compact_archive
from pipeline.archive.consumer import DEFAULT_GROUP, Archiver
from pipeline.archive.prune import prune as prune_archive
from pipeline.archive.read import write_lines
from pipeline.archive.sources import subscription
from pipeline.archive.stats import stats as archive_stats
from pipeline.cli.common import BootstrapOption, console, load_settings, today_utc

app = typer.Typer(
    help="The Parquet archive of assessments, hits, dead letters and declarations.",
    no_args_is_help=True,
)
stdout = Console(soft_wrap=True)

ArchiveDirOption = typer.Option(
    None,
    "--archive-dir",
    help="Archive folder (default SCREENING_ARCHIVE_DIR).",
    show_default=False,
)


def parse_day(text: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option's date; a bad one is a usage error (one line, exit 2)."""
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


def existing_archive(path: Path, option: str = "--archive-dir") -> Path:
    if not path.is_dir():
        raise click.BadParameter(f"folder {path} does not exist", param_hint=option)
    return path


def backtest_input(
    file: Path | None, from_archive: Path | None, since: str | None, until: str | None
) -> Path:
    """The declarations file ``screening rules backtest`` screens: FILE.jsonl as given, or
    the archived declarations of the days asked for, written to a temporary file (deleted
    when the command ends) in Kafka's order within each partition."""
    if from_archive is None:
        if since is not None or until is not None:
            raise click.UsageError("--since and --until need --from-archive")
        if file is None:
            raise click.UsageError("give FILE.jsonl or --from-archive DIR")
        return file
    if file is not None:
        raise click.UsageError("give FILE.jsonl or --from-archive DIR, not both")
    root = existing_archive(from_archive, "--from-archive")
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    if first and last and first > last:
        raise click.BadParameter(f"{first} is after --until {last}", param_hint="--since")
    folder = Path(tempfile.mkdtemp(prefix="screening-backtest-"))
    click.get_current_context().call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    path = folder / f"archive-{first or 'first'}-to-{last or 'last'}.jsonl"
    count = write_lines(root, topics.DECLARATIONS, path, first, last)
    console.print(
        f"{count} declarations read from the archive {root}", markup=False, highlight=False
    )
    return path


@app.command("run")
def run(
    archive_dir: Path | None = ArchiveDirOption,
    group: str = typer.Option(DEFAULT_GROUP, "--group", help="The archiver's consumer group."),
    flush_records: int = typer.Option(
        10_000, "--flush-records", min=1, help="Write a batch after this many records."
    ),
    flush_seconds: float = typer.Option(
        60.0, "--flush-seconds", min=0.1, help="Write a batch this long after its first record."
    ),
    metrics_port: int = typer.Option(
        6068,
        "--metrics-port",
        min=0,
        max=65535,
        help="Serve Prometheus metrics on /metrics at this port; 0: none.",
    ),
    metrics_host: str = typer.Option(
        "127.0.0.1",
        "--metrics-host",
        help="Address the metrics listen on (0.0.0.0 in a container).",
    ),
    bootstrap: BootstrapOption = None,
) -> None:
    """Archive every record of the archived topics as Parquet by topic and day, until
    SIGTERM or Ctrl-C, which write and commit what is pending first."""
    settings = load_settings(bootstrap, archive_dir=archive_dir)
    logs.configure(settings.logging.level, settings.logging.format)
    root = settings.archive.dir
    root.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def stopping(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    archiver = Archiver.connect(
        settings.kafka, root, group, flush_records=flush_records, flush_seconds=flush_seconds
    )
    server = (
        start_http_server(metrics_port, metrics_host, registry=metrics.REGISTRY)[0]
        if metrics_port
        else None
    )
    console.print(
        f"archiving {', '.join(subscription())} to {root} (group {group})"
        + (f", metrics on {metrics_host}:{metrics_port}" if metrics_port else ""),
        markup=False,
        highlight=False,
    )
    try:
        totals = archiver.run(stop)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    console.print(
        f"stopped: {totals.records} records archived in {totals.files} files", markup=False
    )


@app.command("compact")
def compact(
    archive_dir: Path | None = ArchiveDirOption,
    before: str | None = typer.Option(
        None,
        "--before",
        metavar="DATE",
        help="Compact the days before this one, YYYY-MM-DD (default: today, UTC).",
    ),
    topic: str | None = typer.Option(None, "--topic", help="Only this topic."),
) -> None:
    """Merge each day's files into one, each record once (by topic, partition and offset)."""
    limit = parse_day(before, "--before") or today_utc()
    root = existing_archive(load_settings(archive_dir=archive_dir).archive.dir)
    done = compact_archive(root, limit, topic)
    for day in done:
        note = f", {day.kept} changed meanwhile and kept" if day.kept else ""
        stdout.print(
            f"{day.topic} {day.day}: {day.files} files, {day.rows_read} rows -> {day.rows}{note}",
            markup=False,
            highlight=False,
        )
    stdout.print(f"{len(done)} days compacted", markup=False, highlight=False)


@app.command("prune")
def prune(
    archive_dir: Path | None = ArchiveDirOption,
    keep_days: int | None = typer.Option(
        None,
        "--keep-days",
        min=1,
        metavar="N",
        help="Delete the days older than N days (default SCREENING_ARCHIVE_RETENTION_DAYS).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the days, delete nothing."),
) -> None:
    """Delete the day folders older than the retention."""
    settings = load_settings(archive_dir=archive_dir)
    root = existing_archive(settings.archive.dir)
    keep = keep_days if keep_days is not None else settings.archive.retention_days
    gone = prune_archive(root, keep, today_utc(), dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for day in gone:
        stdout.print(f"{verb} {day.topic} {day.day}", markup=False, highlight=False)
    stdout.print(f"{len(gone)} days {verb}, keeping {keep} days", markup=False, highlight=False)


@app.command("stats")
def stats(
    archive_dir: Path | None = ArchiveDirOption,
    topic: str | None = typer.Option(None, "--topic", help="Only this topic."),
    since: str | None = typer.Option(None, "--since", metavar="DATE", help="First day."),
    until: str | None = typer.Option(None, "--until", metavar="DATE", help="Last day, included."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """Files, rows and bytes per topic and day."""
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    if first and last and first > last:
        raise click.BadParameter(f"{first} is after --until {last}", param_hint="--since")
    root = existing_archive(load_settings(archive_dir=archive_dir).archive.dir)
    rows = archive_stats(root, topic, first, last)
    if as_json:
        for row in rows:
            line = {
                "topic": row.topic,
                "day": row.day.isoformat(),
                "files": row.files,
                "rows": row.rows,
                "bytes": row.bytes,
            }
            sys.stdout.buffer.write(orjson.dumps(line) + b"\n")
        sys.stdout.buffer.flush()
        return
    table = Table(title=f"Archive {root}", title_justify="left")
    table.add_column("topic")
    table.add_column("day")
    for column in ("files", "rows", "bytes"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(row.topic, str(row.day), str(row.files), str(row.rows), str(row.bytes))
    if rows:
        table.add_row(
            "total",
            "",
            str(sum(r.files for r in rows)),
            str(sum(r.rows for r in rows)),
            str(sum(r.bytes for r in rows)),
        )
    stdout.print(table)
