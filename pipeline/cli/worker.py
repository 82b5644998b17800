"""``screening worker``: run the Faust screening worker."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import typer

from pipeline import logs
from pipeline.c2c.agreements import AgreementsInvalid
from pipeline.cli.common import BootstrapOption, LogLevelOption, console, load_settings
from pipeline.kafka.admin import ensure_topics

log = logging.getLogger(__name__)


def worker(
    bootstrap: BootstrapOption = None,
    web_port: int | None = typer.Option(
        None, min=1, max=65535, help="HTTP port for /metrics; default SCREENING_WEB_PORT (6066)."
    ),
    batch_max: int | None = typer.Option(
        None,
        min=1,
        max=100_000,
        help="Declarations per batch, roughly (a backlog makes up to 4x); default 1000.",
    ),
    data_dir: Path | None = typer.Option(None, help="Worker state folder."),
    app_id: str | None = typer.Option(None, help="Consumer group / Faust app id."),
    log_level: LogLevelOption = None,
    log_format: str | None = typer.Option(
        None,
        click_type=click.Choice(logs.FORMATS),
        help="json (one object a line) or text (for a terminal); default SCREENING_LOG_FORMAT.",
    ),
    ensure: bool = typer.Option(
        True, "--ensure-topics/--no-ensure-topics", help="Create missing topics first."
    ),
) -> None:
    """Screen declarations: one assessment per version, hits for referrals, dead letters."""
    # Faust is imported here so that the other commands start fast.
    from faust.worker import Worker

    from pipeline.worker.app import create_app, prepare_tables

    settings = load_settings(
        bootstrap,
        web_port=web_port,
        batch_max=batch_max,
        data_dir=data_dir,
        app_id=app_id,
        log_level=log_level,
        log_format=log_format,
    )
    # What comes before Faust's worker starts (reference data, rules) is logged through this;
    # Faust's worker then applies the same configuration (``logging_config`` below).
    logs.configure(settings.logging.level, settings.logging.format)
    if ensure:
        ensure_topics(settings)
    settings.worker.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        app = create_app(settings)
    except AgreementsInvalid as exc:
        # Refused like a bad setting (exit 2): nothing may leave under an agreement that does
        # not load. SystemExit, since the command runs in non-standalone mode (``main``).
        console.print(f"screening: {exc}", markup=False, highlight=False)
        raise SystemExit(2) from exc
    prepare_tables(app, settings)
    log.info(
        "worker %s: Kafka %s, metrics http://%s:%s/metrics",
        settings.topics.app_id,
        settings.kafka.servers,
        settings.worker.web_host,
        settings.worker.web_port,
    )
    # Faust's worker clears the root logger's handlers and applies its own configuration when it
    # starts: given ours, its records and ours keep going through our one handler.
    Worker(
        app,
        loglevel=settings.logging.level,
        quiet=True,
        logging_config=logs.logging_config(settings.logging.level, settings.logging.format),
    ).execute_from_commandline()
