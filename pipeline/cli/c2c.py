"""``screening c2c``: check the sharing agreements with partner administrations, and ask a
partner to examine a referred consignment (``request``) as the workbench does."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from pipeline.c2c.agreements import Agreements, load_agreements
from pipeline.cli.common import console, today_utc
from pipeline.errors import ScreeningError
from pipeline.settings import Settings

app = typer.Typer(
    help="Customs-to-Customs: the sharing agreements with partner administrations.",
    no_args_is_help=True,
)

DirArgument = Annotated[
    Path | None,
    typer.Argument(
        exists=True,
        file_okay=False,
        dir_okay=True,
        help="The agreements folder; default SCREENING_AGREEMENTS_DIR (agreements).",
        show_default=False,
    ),
]


@app.command("request")
def request(
    declaration_id: str = typer.Argument(..., help="The declaration whose open case it is."),
    partner: str = typer.Option(
        ..., "--partner", help="The partner administration, ISO 3166-1 alpha-2 (e.g. CN)."
    ),
    reason: str = typer.Option(
        "", "--reason", help="Why, for the case's timeline only: officers' notes never leave."
    ),
) -> None:
    """Send an EXAMINATION_REQUEST for a declaration's open case, as an officer's request from
    the workbench: the workbench publishes it to customs.c2c.outbound.v1."""
    from pipeline.cli.workbench import connect  # the database driver only when needed
    from pipeline.workbench.partner_outbound import send_request
    from pipeline.workbench.partners import Exchange

    settings = Settings()
    exchange = Exchange.from_settings(settings)
    with connect(settings.workbench) as conn:
        row = conn.execute(
            "SELECT case_id FROM cases WHERE declaration_id = %s AND status <> 'CLOSED'",
            (declaration_id,),
        ).fetchone()
        if row is None:
            raise ScreeningError(f"{declaration_id} has no open case: nothing was sent")
        message = send_request(
            conn, exchange, f"cli:{getpass.getuser()}", row[0], partner.upper(), reason=reason
        )
    console.print(
        f"case {row[0]}: examination request {message.message_id} to {message.to_administration}"
        " queued; the workbench publishes it",
        markup=False,
        highlight=False,
    )


@app.command("validate")
def validate(directory: DirArgument = None) -> None:
    """Check every agreement file: every problem is listed with its file and line."""
    folder = directory if directory is not None else Settings().partners.agreements_dir
    agreements = load_agreements(folder)
    console.print(f"{folder}: {_summary(agreements)}", markup=False, highlight=False)
    for line in _warnings(agreements, today_utc()):
        console.print(f"warning: {line}", markup=False, highlight=False)


def _summary(agreements: Agreements) -> str:
    if not len(agreements):
        return "no sharing agreement: nothing is sent to or accepted from partners"
    partners = ", ".join(f"{a.partner} ({a.alias})" for a in agreements)
    plural = "s" if len(agreements) != 1 else ""
    return f"{len(agreements)} sharing agreement{plural} valid: {partners}"


def _warnings(agreements: Agreements, today: date) -> list[str]:
    lines = []
    for agreement in agreements:
        if agreement.review_by < today:
            lines.append(f"{agreement.source}: review was due on {agreement.review_by}")
        if not agreement.in_force(today):
            lines.append(f"{agreement.source}: not in force today: nothing is sent under it")
    return lines
