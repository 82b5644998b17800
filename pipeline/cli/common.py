"""Options and helpers shared by the commands."""

from __future__ import annotations

import sys
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, BinaryIO

import click
import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console

import pipeline
from pipeline.kafka.security import check_security
from pipeline.settings import PREFIX, VARIABLES, LogLevel, Settings

# Messages are whole lines even when stderr is not a terminal (no wrapping at 80 columns).
console = Console(stderr=True, soft_wrap=True)

# The path that means standard output for the options that write a file.
STDOUT = Path("-")

LOG_LEVELS = typing.get_args(LogLevel)
# The rule folder when none is given: ./rules as in a checkout or the image, otherwise the
# copy packed into the installed package (pyproject.toml, package data).
RULES_FOLDER = Path("rules")
PACKAGED_RULES = Path(pipeline.__file__).resolve().parent / "default_rules"


def today_utc() -> date:
    """Today's date in UTC, the day the commands' periods and retention are counted in."""
    return datetime.now(UTC).date()


BootstrapOption = Annotated[
    str | None,
    typer.Option(
        "--bootstrap",
        "-b",
        help="Kafka bootstrap servers (host:port,...); default SCREENING_KAFKA_BOOTSTRAP.",
        show_default=False,
    ),
]

LogLevelOption = Annotated[
    str | None,
    typer.Option(
        "--log-level",
        click_type=click.Choice(LOG_LEVELS, case_sensitive=False),
        help="Default SCREENING_LOG_LEVEL (info).",
        show_default=False,
    ),
]


def load_settings(bootstrap: str | None = None, **overrides: object) -> Settings:
    """The settings of the environment with the command's options over them, all validated
    alike: an option's value is refused as the same variable's would be. Options are named as
    the variables are, without the prefix (``partitions``, ``kafka_bootstrap``)."""
    update = {k: v for k, v in overrides.items() if v is not None}
    if bootstrap:
        update["kafka_bootstrap"] = bootstrap
    unknown = set(update) - set(VARIABLES)
    if unknown:  # a programming error, not the user's: not reported as a bad setting
        raise TypeError(f"no such settings: {', '.join(sorted(unknown))}")
    settings = Settings(**update)
    if not settings.is_set("rules_dir"):
        settings = Settings(**update, rules_dir=default_rules_dir())
    check_security(settings.kafka)
    return settings


def settings_problems(exc: ValidationError) -> list[str]:
    """One line per invalid SCREENING_* variable: its name and what is wrong with it."""
    lines = []
    for error in exc.errors():
        # A field's place is its section and its public name: ("topics", "partitions").
        names = [str(part) for part in error["loc"]]
        name = next((part for part in names if part in VARIABLES), "_".join(names))
        message = error["msg"].removeprefix("Value error, ")
        got = "" if _is_secret(name) else f" (got {error.get('input')!r})"
        lines.append(f"{PREFIX}{name.upper()}: {message}{got}")
    return lines


def _is_secret(name: str) -> bool:
    variable = VARIABLES.get(name)
    return variable is not None and SecretStr.__name__ in str(variable.info.annotation)


def default_rules_dir() -> Path:
    if RULES_FOLDER.is_dir() or not PACKAGED_RULES.is_dir():
        return RULES_FOLDER
    return PACKAGED_RULES


def output_path(path: Path | None) -> Path | None:
    """Callback of the options that write a file: ``-`` is standard output; any other path
    needs its folder to exist (checked before the work, not after it)."""
    if path is not None and path != STDOUT and not path.parent.is_dir():
        raise typer.BadParameter(f"folder {path.parent} does not exist")
    return path


@contextmanager
def open_output(path: Path) -> Iterator[BinaryIO]:
    """The file to write, or standard output for ``-`` (left open, flushed)."""
    if path == STDOUT:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with path.open("wb") as handle:
        yield handle
