"""``screening c2c validate``: check the sharing agreements with partner administrations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from pipeline.c2c.agreements import Agreements, load_agreements
from pipeline.cli.common import console
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


@app.command("validate")
def validate(directory: DirArgument = None) -> None:
    """Check every agreement file: every problem is listed with its file and line."""
    folder = directory if directory is not None else Settings().agreements_dir
    agreements = load_agreements(folder)
    console.print(f"{folder}: {_summary(agreements)}", markup=False, highlight=False)
    for line in _warnings(agreements, datetime.now(UTC).date()):
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
