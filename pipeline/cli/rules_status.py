"""``screening rules status``: the rule set each running worker screens with, against the
latest published one.

It reads two compacted topics whole: ``customs.rules.v1`` for the latest manifest and
``customs.worker.status.v1`` for every worker's last status record (pipeline/worker/status.py).
A worker that stopped cleanly has left the listing; one not heard from for three of its
heartbeats is shown as stale.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline import topics
from pipeline.cli.common import BootstrapOption, console, load_settings
from pipeline.kafka.reader import read_compacted
from pipeline.rules.governance import PublishedState, published_state
from pipeline.worker.status import WorkerView, worker_views

stdout = Console(soft_wrap=True)
if not stdout.is_terminal:
    stdout.width = 160


def status(
    bootstrap: BootstrapOption = None,
    as_json: bool = typer.Option(
        False, "--json", help="One JSON document instead of a table (for scripts)."
    ),
) -> None:
    """Show which rule set each running worker screens with, whether it is the latest
    published one, and the sets each worker refused."""
    kafka = load_settings(bootstrap).kafka
    published = published_state(read_compacted(kafka, topics.RULES))
    records = read_compacted(kafka, topics.WORKER_STATUS)
    views = worker_views(records, published.ruleset_version, time.time())
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(status_document(published, views)) + b"\n")
        return
    console.print(headline(published), markup=False, highlight=False)
    if not views:
        console.print(f"no worker has reported on {topics.WORKER_STATUS}", markup=False)
        return
    stdout.print(status_table(views))
    console.print(summary(views), markup=False, highlight=False)


def headline(published: PublishedState) -> str:
    manifest = published.manifest
    if manifest is None:
        return "latest published rule set: none (workers screen with their rule folder)"
    line = f"latest published rule set: {published.ruleset_version}"
    if manifest.get("published_by"):
        line += f", by {manifest['published_by']}"
    if manifest.get("published_at"):
        line += f" at {manifest['published_at']}"
    return line


def summary(views: Sequence[WorkerView]) -> str:
    live = [v for v in views if not v.stale]
    behind = [v for v in live if not v.latest]
    line = f"{len(live)} workers reporting, {len(behind)} not on the latest rule set"
    if len(views) > len(live):
        line += f"; {len(views) - len(live)} stale (not heard from for three heartbeats)"
    return line


def status_document(published: PublishedState, views: Sequence[WorkerView]) -> dict[str, Any]:
    manifest = published.manifest or {}
    return {
        "latest": {
            "ruleset_version": published.ruleset_version,
            "published_by": manifest.get("published_by"),
            "published_at": manifest.get("published_at"),
        },
        "workers": [view.as_json() for view in views],
    }


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.0f} h ago"


def status_table(views: Sequence[WorkerView]) -> Table:
    table = Table(title="Workers and their rule sets", title_justify="left")
    for column in ("worker", "group", "rule set", "latest?", "since", "last seen", "refused"):
        table.add_column(column)
    for view in views:
        worker = view.status
        version = worker.ruleset_version or "none"
        if worker.ruleset_source == "folder":
            version += " (folder)"
        latest = Text("yes", style="green") if view.latest else Text("no", style="bold red")
        seen = _age(view.age_s)
        table.add_row(
            Text(worker.worker),
            Text(worker.group),
            Text(version),
            latest,
            worker.taken_up_at or "",
            Text(f"{seen}, stale", style="yellow") if view.stale else Text(seen),
            Text(", ".join(worker.refused)),
        )
    return table
