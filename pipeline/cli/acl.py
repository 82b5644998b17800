"""``screening acl``: the Kafka ACLs per role of pipeline/kafka/acls.py, shown and applied.

``apply``, ``add-gateway``, ``remove-gateway`` and ``add-partner`` talk to Kafka as the user of the
SCREENING_KAFKA_SASL_* settings, which must be allowed to manage ACLs (a super user of the
brokers). They print one line per binding created or deleted, then a count.
"""

from __future__ import annotations

from collections.abc import Sequence

import typer

from pipeline.cli.common import BootstrapOption, console, load_settings
from pipeline.errors import ConfigurationError
from pipeline.kafka import acls
from pipeline.kafka.admin import admin_client
from pipeline.kafka.security import check_access

app = typer.Typer(
    help="Kafka ACLs per role (SECURITY.md): show the table, apply it.", no_args_is_help=True
)

PrincipalOption = typer.Option(
    None,
    "--principal",
    "-p",
    help="Only this role of the table (repeat for more); default every role.",
    show_default=False,
)
DryRunOption = typer.Option(False, "--dry-run", help="Say what would change; change nothing.")


def _roles(principals: Sequence[str] | None) -> list[acls.Role]:
    try:
        return acls.select(principals or [])
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc), param_hint="--principal") from exc


@app.command("show")
def show(
    principal: list[str] | None = PrincipalOption,
    markdown: bool = typer.Option(
        False, "--markdown", help="As the Markdown table of SECURITY.md."
    ),
    by_topic: bool = typer.Option(
        False, "--by-topic", help="Who may write and read each topic (Markdown, SECURITY.md)."
    ),
) -> None:
    """Print the table: what each principal may do, and why."""
    roles = _roles(principal)
    if by_topic:
        typer.echo(acls.topic_table(roles), nl=False)
        return
    if markdown:
        typer.echo(acls.markdown_table(roles), nl=False)
        return
    for index, role in enumerate(roles):
        typer.echo(("\n" if index else "") + f"User:{role.principal}: {role.who}")
        for grant in role.grants:
            operations = ", ".join(grant.operations)
            typer.echo(f"  {operations} on {acls.describe_grant(grant)}\n      {grant.why}")


def _apply(
    roles: Sequence[acls.Role], bootstrap: str | None, *, prune: bool, dry_run: bool
) -> None:
    kafka = load_settings(bootstrap).kafka
    check_access(kafka)
    changes = acls.apply_acls(
        admin_client(kafka),
        roles,
        prune=prune,
        dry_run=dry_run,
        where=kafka.servers,
    )
    would = "would " if dry_run else ""
    for binding in changes.created:
        console.print(f"{would}create: {acls.describe_binding(binding)}", highlight=False)
    for binding in changes.deleted:
        console.print(f"{would}delete: {acls.describe_binding(binding)}", highlight=False)
    for binding in changes.extra:
        console.print(
            f"not in the table (kept; --prune deletes it): {acls.describe_binding(binding)}",
            highlight=False,
        )
    created, deleted = ("to create", "to delete") if dry_run else ("created", "deleted")
    principals = ", ".join(r.principal for r in roles)
    console.print(
        f"acl: {len(changes.created)} {created}, {len(changes.present)} present, "
        f"{len(changes.deleted)} {deleted}, {len(changes.extra)} not in the table "
        f"({principals})",
        highlight=False,
    )


@app.command("apply")
def apply(
    bootstrap: BootstrapOption = None,
    principal: list[str] | None = PrincipalOption,
    prune: bool = typer.Option(
        False,
        "--prune",
        help="Also delete the bindings of these principals that the table does not hold.",
    ),
    dry_run: bool = DryRunOption,
) -> None:
    """Create the ACL bindings that the table's roles lack (idempotent)."""
    _apply(_roles(principal), bootstrap, prune=prune, dry_run=dry_run)


@app.command("add-gateway")
def add_gateway(
    name: str = typer.Argument(..., help="The new gateway's Kafka user (its principal)."),
    group: str | None = typer.Option(
        None, "--group", help="Its consumer group for the notices; default NAME."
    ),
    bootstrap: BootstrapOption = None,
    dry_run: bool = DryRunOption,
) -> None:
    """ACLs for another filers' gateway: filer-gateway's, for this user and group."""
    try:
        role = acls.gateway_role(name, group)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _apply([role], bootstrap, prune=False, dry_run=dry_run)


@app.command("remove-gateway")
def remove_gateway(
    name: str = typer.Argument(..., help="The gateway's Kafka user (its principal)."),
    bootstrap: BootstrapOption = None,
    dry_run: bool = DryRunOption,
) -> None:
    """Delete every ACL binding of a gateway added with add-gateway (not of a table role)."""
    try:
        role = acls.former_gateway(name)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _apply([role], bootstrap, prune=True, dry_run=dry_run)


@app.command("add-partner")
def add_partner(
    alias: str = typer.Argument(
        ..., help="The partner's MirrorMaker 2 alias, as in its sharing agreement (e.g. cn)."
    ),
    bootstrap: BootstrapOption = None,
    dry_run: bool = DryRunOption,
) -> None:
    """Read on <alias>.customs.c2c.outbound.v1 for the workbench, the pipeline and the archive.

    Run it for each sharing agreement, and again after `acl apply --prune` of any of them."""
    try:
        roles = acls.partner_roles(alias)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _apply(roles, bootstrap, prune=False, dry_run=dry_run)
