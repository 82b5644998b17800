"""The ``screening`` console script."""

from __future__ import annotations

import sys
from importlib import metadata

import click
import typer
from pydantic import ValidationError

from pipeline.cli import (
    acl,
    archive,
    c2c,
    generate,
    hits,
    reference,
    report,
    rules,
    send,
    topics,
    workbench,
    worker,
)
from pipeline.cli.common import settings_problems
from pipeline.errors import ConfigurationError, ScreeningError

# The distribution name in pyproject.toml, which the version is read from.
DISTRIBUTION = "customs-screening"

app = typer.Typer(
    name="screening",
    help="Pre-loading cargo screening on Kafka: worker, topics, feeds and hits.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # With no markup mode, typer 0.20 still escapes "[default: ...]" for rich: it showed "\[".
    # Markdown rather than rich: docstrings' line breaks are joined in the command lists too.
    rich_markup_mode="markdown",
)


def _show_version(value: bool) -> None:
    if value:
        try:
            version = metadata.version(DISTRIBUTION)
        except metadata.PackageNotFoundError:
            version = "unknown (the package is not installed)"
        typer.echo(f"screening {version}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version, exit."
    ),
) -> None:
    """Options of ``screening`` itself, before the command."""


app.add_typer(topics.app, name="topics")
app.add_typer(reference.aeo_app, name="aeo")
app.add_typer(reference.watchlist_app, name="watchlist")
app.add_typer(rules.app, name="rules")
app.add_typer(acl.app, name="acl")
app.add_typer(c2c.app, name="c2c")
app.add_typer(report.app, name="report")
app.add_typer(archive.app, name="archive")
app.command("worker")(worker.worker)
app.command("workbench")(workbench.workbench)
app.add_typer(workbench.accounts_app, name="accounts")
app.command("send")(send.send)
app.command("hits")(hits.hits)
app.command("generate")(generate.generate)


def main(argv: list[str] | None = None) -> int:
    """Run a command; a bad argument gets one line on stderr and exit code 2."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="screening", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        # A group called without a subcommand: its help is shown, as the user asked for nothing
        # (typer's rich help has printed itself already, when the error was made).
        if exc.format_message():
            click.echo(exc.format_message(), err=True)
        return 2
    except click.UsageError as exc:
        hint = f" (try: {exc.ctx.command_path} --help)" if exc.ctx else ""
        print(f"screening: error: {exc.format_message()}{hint}", file=sys.stderr)
        return 2
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        print("screening: aborted", file=sys.stderr)
        return 130
    except ConfigurationError as exc:
        # A bad setting or argument found past parsing (TLS files, a database URL, an alias).
        print(f"screening: error: {exc}", file=sys.stderr)
        return 2
    except ScreeningError as exc:
        print(f"screening: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        # A bad SCREENING_* variable: one line each, no traceback, as for a bad argument.
        for line in settings_problems(exc):
            print(f"screening: error: {line}", file=sys.stderr)
        return 2
    return 0


def run() -> None:
    sys.exit(main())
