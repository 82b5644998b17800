"""``screening worker``: run the Faust screening worker."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from pipeline.c2c.agreements import AgreementsInvalid
from pipeline.cli.common import BootstrapOption, console, load_settings
from pipeline.kafka.admin import ensure_topics


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
    log_level: str | None = typer.Option(None, help="debug, info, warning or error."),
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
    )
    # Faust sets up logging when its worker starts; what comes before (reference data and
    # rules loading) is logged through this.
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
    )
    if ensure:
        ensure_topics(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        app = create_app(settings)
    except AgreementsInvalid as exc:
        # Refused like a bad setting (exit 2): nothing may leave under an agreement that does
        # not load. SystemExit, since the command runs in non-standalone mode (``main``).
        console.print(f"screening: {exc}", markup=False, highlight=False)
        raise SystemExit(2) from exc
    prepare_tables(app, settings)
    console.print(
        f"worker {settings.app_id}: Kafka {settings.kafka_bootstrap}, "
        f"metrics http://{settings.web_host}:{settings.web_port}/metrics"
    )
    Worker(app, loglevel=settings.log_level, quiet=True).execute_from_commandline()
