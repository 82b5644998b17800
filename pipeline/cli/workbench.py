"""``screening workbench``: the officers' web application; ``screening accounts``: its users."""

from __future__ import annotations

import logging
import os
from typing import Any

import typer

from pipeline import logs
from pipeline.cli.common import BootstrapOption, console, load_settings
from pipeline.errors import ConfigurationError, ScreeningError
from pipeline.settings import WorkbenchSettings

log = logging.getLogger(__name__)

accounts_app = typer.Typer(
    help="Workbench accounts: officers, supervisors and analysts.", no_args_is_help=True
)


class DatabaseUnavailable(ScreeningError):
    """PostgreSQL did not answer: check SCREENING_DATABASE_URL and that the server runs."""


def workbench(
    bootstrap: BootstrapOption = None,
    port: int | None = typer.Option(
        None, min=1, max=65535, help="HTTP port; default SCREENING_WORKBENCH_PORT (8088)."
    ),
    host: str | None = typer.Option(None, help="Bind address; default 127.0.0.1."),
    demo_accounts: bool = typer.Option(
        False,
        "--demo-accounts",
        help="Create or reset the accounts officer, supervisor and analyst with the password "
        "SCREENING_DEMO_PASSWORD.",
    ),
    ensure: bool = typer.Option(
        True, "--ensure-topics/--no-ensure-topics", help="Create missing topics first."
    ),
) -> None:
    """Serve the officers' workbench: worklist, cases, examinations, clearances, audit."""
    import uvicorn

    from pipeline.kafka.admin import ensure_topics
    from pipeline.workbench.accounts import DEMO_ACCOUNTS, upsert
    from pipeline.workbench.web import create_app

    settings = load_settings(bootstrap, workbench_port=port, workbench_host=host)
    workbench = settings.workbench
    if demo_accounts and workbench.demo_password is None:
        raise typer.BadParameter(
            "--demo-accounts needs SCREENING_DEMO_PASSWORD (at least 12 characters)"
        )
    # uvicorn is given no logging configuration (log_config=None): its records go through ours.
    logs.configure(settings.logging.level, settings.logging.format)
    with connect(workbench) as conn:
        applied = _migrate(conn)
        if demo_accounts and workbench.demo_password is not None:
            password = workbench.demo_password.get_secret_value()
            try:
                for username, name, role in DEMO_ACCOUNTS:
                    upsert(conn, username, name, role, password)
            except ValueError as exc:
                raise typer.BadParameter(f"SCREENING_DEMO_PASSWORD: {exc}") from exc
    if ensure:
        ensure_topics(settings)
    log.info(
        "workbench: http://%s:%s/ (database %s, %d migrations applied now)",
        workbench.host,
        workbench.port,
        _where(workbench),
        len(applied),
    )
    uvicorn.run(
        create_app(settings),
        host=workbench.host,
        port=workbench.port,
        # Request lines carry searched names and ids: no access log.
        access_log=False,
        log_config=None,
        proxy_headers=False,
    )


@accounts_app.command("add")
def add_account(
    username: str = typer.Argument(..., help="2-64 of a-z 0-9 . _ -"),
    role: str = typer.Option(..., help="officer, supervisor or analyst"),
    name: str = typer.Option(..., "--name", help="The name shown on the pages."),
) -> None:
    """Create an account, or reset its role and password. The password is read from
    SCREENING_ACCOUNT_PASSWORD, or asked for."""
    from pipeline.workbench.accounts import ROLES, upsert

    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}", param_hint="--role")
    password = os.environ.get("SCREENING_ACCOUNT_PASSWORD") or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    with connect(load_settings().workbench) as conn:
        _migrate(conn)
        try:
            upsert(conn, username, name, role, password)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    console.print(f"account {username} ({role}) saved")


@accounts_app.command("migrate")
def migrate_only() -> None:
    """Apply the database migrations and exit (for a deployment's init step)."""
    with connect(load_settings().workbench) as conn:
        applied = _migrate(conn)
    console.print(f"migrations applied: {', '.join(applied) or 'none (up to date)'}")


def connect(workbench: WorkbenchSettings) -> Any:
    """A connection to the workbench's database (autocommit), for the commands that use it."""
    import psycopg

    try:
        return psycopg.connect(
            workbench.database_url.get_secret_value(), connect_timeout=10, autocommit=True
        )
    except psycopg.ProgrammingError as exc:
        raise ConfigurationError(f"SCREENING_DATABASE_URL is not a database URL: {exc}") from exc
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(
            f"cannot reach the case database at {_where(workbench)}: {reason}"
        ) from exc


def _migrate(conn: Any) -> list[str]:
    from pipeline.workbench.migrations import migrate

    return migrate(conn)


def _where(workbench: WorkbenchSettings) -> str:
    """Host, port and database of the URL, never its password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(workbench.database_url.get_secret_value())
    except Exception:
        return "(unparsable URL)"
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"
