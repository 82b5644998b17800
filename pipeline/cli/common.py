"""Options and helpers shared by the commands."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from pipeline.kafka.security import check_security
from pipeline.settings import Settings

# Messages are whole lines even when stderr is not a terminal (no wrapping at 80 columns).
console = Console(stderr=True, soft_wrap=True)

BootstrapOption = Annotated[
    str | None,
    typer.Option(
        "--bootstrap",
        "-b",
        help="Kafka bootstrap servers (host:port,...); default SCREENING_KAFKA_BOOTSTRAP.",
        show_default=False,
    ),
]


def load_settings(bootstrap: str | None = None, **overrides: object) -> Settings:
    settings = Settings()
    update = {k: v for k, v in overrides.items() if v is not None}
    if bootstrap:
        update["kafka_bootstrap"] = bootstrap
    settings = settings.model_copy(update=update) if update else settings
    check_security(settings)
    return settings
