"""``screening aeo …`` and ``screening watchlist …``: publish reference data from CSV files.

``load`` publishes every valid row, keyed by its id, and reports each bad row as
``FILE:LINE: reason`` without stopping; ``delete`` publishes tombstones. Both topics are
compacted, so the latest value per id is what workers hold. ``sync`` makes the topic hold
exactly the file: it checks the whole file first, reads what the topic holds, and publishes the
new and changed records and tombstones for the records the file no longer has
(pipeline/reference/sync.py works out which).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import typer
from confluent_kafka import KafkaError, Message, Producer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline import topics
from pipeline.cli.common import BootstrapOption, console, load_settings
from pipeline.errors import ConfigurationError, DeliveryFailed, InputFileError
from pipeline.kafka.producer import produce_waiting, producer_config
from pipeline.kafka.reader import read_compacted
from pipeline.kafka.security import check_access
from pipeline.reference.csv_load import RowError, RowResult, read_aeo_csv, read_watchlist_csv
from pipeline.reference.sync import (
    DEFAULT_MAX_DELETE_SHARE,
    FileRecord,
    check_deletions,
    duplicates,
    plan_sync,
)

aeo_app = typer.Typer(help="Publish the AEO registry.", no_args_is_help=True)
watchlist_app = typer.Typer(help="Publish watch-list entries.", no_args_is_help=True)

Send = Callable[[bytes, bytes | None], None]


@dataclass(frozen=True)
class Feed:
    """One reference topic: where it goes, how its CSV is read, and what keys a record."""

    topic: str
    read: Callable[[Path], Iterator[RowResult[Any]]]
    key: Callable[[Any], str]
    key_field: str = "id"


AEO = Feed(topics.AEO_REGISTRY, read_aeo_csv, lambda record: record.operator_id, "operator_id")
WATCHLIST = Feed(topics.WATCHLIST, read_watchlist_csv, lambda entry: entry.entry_id, "entry_id")


@dataclass
class Summary:
    loaded: int = 0
    skipped: int = 0
    deleted: int = 0

    def line(self, topic: str) -> str:
        return f"loaded {self.loaded}, skipped {self.skipped}, deleted {self.deleted} ({topic})"


class Publisher:
    """A producer made on first use, so that a file with nothing valid needs no broker."""

    def __init__(self, bootstrap: str | None) -> None:
        self._bootstrap = bootstrap
        self._producer: Producer | None = None
        self._failures: list[str] = []

    def sender(self, topic: str) -> Send:
        def send(key: bytes, value: bytes | None) -> None:
            if self._producer is None:
                kafka = load_settings(self._bootstrap).kafka
                check_access(kafka)
                self._producer = Producer(
                    {
                        **producer_config(kafka),
                        "on_delivery": self._on_delivery,
                    }
                )
            produce_waiting(self._producer, topic, value, key)

        return send

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._failures.append(error.str())

    def flush(self, sent: int) -> None:
        if self._producer is None:
            return
        remaining = self._producer.flush(60)
        if remaining or self._failures:
            detail = "; ".join(self._failures[:3]) or "not acknowledged"
            raise DeliveryFailed(f"{remaining or len(self._failures)} of {sent} records: {detail}")


def publish_file(path: Path, feed: Feed, send: Send, progress: bool) -> Summary:
    """Publish a CSV file's valid rows; report each bad row on stderr as ``FILE:LINE: reason``."""
    summary = Summary()
    encode = msgspec.json.Encoder().encode
    rows = feed.read(path)
    with Progress(
        TextColumn(path.name),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines"),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
    ) as bar:
        total = _line_count(path) if progress else None
        task = bar.add_task("load", total=total)
        for result in rows:
            if isinstance(result, RowError):
                summary.skipped += 1
                console.print(
                    f"{path}:{result.line}: {result.reason}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            else:
                send(feed.key(result.record).encode(), encode(result.record))
                summary.loaded += 1
            if progress and (summary.loaded + summary.skipped) % 500 == 0:
                bar.update(task, completed=result.line)
        bar.update(task, completed=total)
    return summary


def delete_ids(ids: Iterable[str], send: Send) -> Summary:
    summary = Summary()
    for key in ids:
        send(key.encode(), None)
        summary.deleted += 1
    return summary


def _load(feed: Feed, file: Path, bootstrap: str | None) -> None:
    publisher = Publisher(bootstrap)
    summary = publish_file(file, feed, publisher.sender(feed.topic), console.is_terminal)
    publisher.flush(summary.loaded)
    console.print(f"{file}: {summary.line(feed.topic)}", markup=False, highlight=False)
    if not summary.loaded:
        raise InputFileError(f"{file}: no valid rows to load")


def _delete(feed: Feed, ids: list[str], bootstrap: str | None) -> None:
    keys = [i.strip() for i in ids]
    if not all(keys):
        raise ConfigurationError("an id to delete is empty")
    publisher = Publisher(bootstrap)
    summary = delete_ids(keys, publisher.sender(feed.topic))
    publisher.flush(summary.deleted)
    console.print(summary.line(feed.topic), markup=False, highlight=False)


def read_whole_file(path: Path, feed: Feed) -> list[FileRecord]:
    """Every record of the file, or, when any row is bad (a duplicate id too), each bad row
    reported on stderr as ``FILE:LINE: reason`` and ``InputFileError``: nothing is published."""
    encode = msgspec.json.Encoder().encode
    records: list[FileRecord] = []
    bad: list[tuple[int, str]] = []
    for result in feed.read(path):
        if isinstance(result, RowError):
            bad.append((result.line, result.reason))
        else:
            key = feed.key(result.record).encode()
            records.append(FileRecord(result.line, key, encode(result.record)))
    for duplicate in duplicates(records):
        repeated = duplicate.key.decode()
        bad.append(
            (
                duplicate.line,
                f"{feed.key_field} {repeated!r} is already on line {duplicate.first_line}",
            )
        )
    for line, reason in sorted(bad):
        _say(f"{path}:{line}: {reason}")
    if bad:
        rows = "row" if len(bad) == 1 else "rows"
        raise InputFileError(f"{path}: {len(bad)} bad {rows}, nothing published")
    return records


def _sync(
    feed: Feed,
    file: Path,
    bootstrap: str | None,
    *,
    dry_run: bool,
    force: bool,
    max_delete_share: float,
) -> None:
    records = read_whole_file(file, feed)
    plan = plan_sync(records, read_compacted(load_settings(bootstrap).kafka, feed.topic))
    if dry_run:
        for key, _ in plan.publish:
            _say(f"would load {key.decode()}")
        for key in plan.delete:
            _say(f"would delete {key.decode()}")
        _say(
            f"{file}: would load {len(plan.publish)}, unchanged {plan.unchanged}, "
            f"would delete {len(plan.delete)} ({feed.topic}); dry run, nothing published"
        )
        check_deletions(plan, max_delete_share, force, feed.topic, str(file))
        return
    check_deletions(plan, max_delete_share, force, feed.topic, str(file))
    publisher = Publisher(bootstrap)
    send = publisher.sender(feed.topic)
    for key, value in plan.publish:
        send(key, value)
    for key in plan.delete:
        send(key, None)
    publisher.flush(len(plan.publish) + len(plan.delete))
    _say(
        f"{file}: loaded {len(plan.publish)}, unchanged {plan.unchanged}, "
        f"deleted {len(plan.delete)} ({feed.topic})"
    )


def _say(line: str) -> None:
    console.print(line, markup=False, highlight=False, soft_wrap=True)


def _line_count(path: Path) -> int | None:
    try:
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return None  # the reader reports it


_FILE = typer.Argument(
    ...,
    exists=True,
    dir_okay=False,
    readable=True,
    help="CSV file with the contract's header.",
    show_default=False,
)
_IDS = typer.Argument(..., help="Ids to delete (tombstones).", show_default=False)
_SYNC_FILE = typer.Argument(
    ...,
    exists=True,
    dir_okay=False,
    readable=True,
    help="CSV file with the contract's header: the whole list.",
    show_default=False,
)
_DRY_RUN = typer.Option(
    False, "--dry-run", help="Print what would be loaded and deleted; publish nothing."
)
_FORCE = typer.Option(
    False, "--force", help="Delete however many records the file no longer holds."
)
_MAX_DELETE_SHARE = typer.Option(
    DEFAULT_MAX_DELETE_SHARE,
    "--max-delete-share",
    min=0.0,
    max=1.0,
    help="Without --force, refuse to delete more than this share of the topic's records "
    "(0.1 = 10 %).",
)


@aeo_app.command("load")
def aeo_load(file: Path = _FILE, bootstrap: BootstrapOption = None) -> None:
    """Publish AEO records from a CSV file, keyed by operator_id.

    Header: operator_id,scheme,name,country,aeo_type,status,valid_from,valid_to,mra_partner.
    Bad rows are reported as FILE:LINE and skipped; the rest are published."""
    _load(AEO, file, bootstrap)


@aeo_app.command("sync")
def aeo_sync(
    file: Path = _SYNC_FILE,
    dry_run: bool = _DRY_RUN,
    force: bool = _FORCE,
    max_delete_share: float = _MAX_DELETE_SHARE,
    bootstrap: BootstrapOption = None,
) -> None:
    """Make the AEO registry hold exactly the file's records.

    Publishes every new or changed record and deletes every record the file no longer holds;
    prints loaded, unchanged and deleted. A file with any bad row publishes nothing."""
    _sync(AEO, file, bootstrap, dry_run=dry_run, force=force, max_delete_share=max_delete_share)


@aeo_app.command("delete")
def aeo_delete(ids: list[str] = _IDS, bootstrap: BootstrapOption = None) -> None:
    """Delete AEO records by operator_id."""
    _delete(AEO, ids, bootstrap)


@watchlist_app.command("load")
def watchlist_load(file: Path = _FILE, bootstrap: BootstrapOption = None) -> None:
    """Publish watch-list entries from a CSV file, keyed by entry_id.

    Header: entry_id,name,aliases,country,ids,list,action,reason; aliases separated by |, ids
    written SCHEME:VALUE|SCHEME:VALUE. Bad rows are reported as FILE:LINE and skipped."""
    _load(WATCHLIST, file, bootstrap)


@watchlist_app.command("sync")
def watchlist_sync(
    file: Path = _SYNC_FILE,
    dry_run: bool = _DRY_RUN,
    force: bool = _FORCE,
    max_delete_share: float = _MAX_DELETE_SHARE,
    bootstrap: BootstrapOption = None,
) -> None:
    """Make the watch list hold exactly the file's entries.

    Publishes every new or changed entry and deletes every entry the file no longer holds;
    prints loaded, unchanged and deleted. A file with any bad row publishes nothing."""
    _sync(
        WATCHLIST,
        file,
        bootstrap,
        dry_run=dry_run,
        force=force,
        max_delete_share=max_delete_share,
    )


@watchlist_app.command("delete")
def watchlist_delete(ids: list[str] = _IDS, bootstrap: BootstrapOption = None) -> None:
    """Delete watch-list entries by entry_id."""
    _delete(WATCHLIST, ids, bootstrap)
