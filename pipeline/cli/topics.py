"""``screening topics ensure``."""

from __future__ import annotations

import typer
from rich.table import Table

from pipeline.cli.common import BootstrapOption, console, load_settings
from pipeline.kafka.admin import ensure_topics
from pipeline.topics import spec

app = typer.Typer(help="Manage the pipeline's Kafka topics.", no_args_is_help=True)


@app.command("ensure")
def ensure(
    bootstrap: BootstrapOption = None,
    partitions: int | None = typer.Option(
        None, min=1, help="Partitions for keyed topics; default SCREENING_PARTITIONS (12)."
    ),
) -> None:
    """Create every topic of the contract with its settings (idempotent)."""
    settings = load_settings(bootstrap, partitions=partitions)
    reports = ensure_topics(settings)
    table = Table("topic", "partitions", "cleanup", "status")
    for report in reports:
        cleanup = spec(report.name).config.get("cleanup.policy", "")
        table.add_row(report.name, str(report.partitions), cleanup, report.status)
    console.print(table)
