"""The ``screening`` console script."""

from __future__ import annotations

import sys

import click
import typer
from pydantic import ValidationError

from pipeline.cli import (
    acl,
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
from pipeline.errors import ScreeningError

app = typer.Typer(
    name="screening",
    help="Pre-loading cargo screening on Kafka: worker, topics, feeds and hits.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(topics.app, name="topics")
app.add_typer(reference.aeo_app, name="aeo")
app.add_typer(reference.watchlist_app, name="watchlist")
app.add_typer(rules.app, name="rules")
app.add_typer(acl.app, name="acl")
app.add_typer(c2c.app, name="c2c")
app.add_typer(report.app, name="report")
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
        # A group called without a subcommand: show its help, as the user asked for nothing.
        click.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
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
    except ScreeningError as exc:
        print(f"screening: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        # A bad SCREENING_* variable: one line each, no traceback, as for a bad argument.
        for error in exc.errors():
            name = "SCREENING_" + "_".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            print(
                f"screening: error: {name}: {message} (got {error.get('input')!r})",
                file=sys.stderr,
            )
        return 2
    return 0


def run() -> None:
    sys.exit(main())
