"""``screening rules validate|publish|status|backtest``."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import orjson
import typer
from confluent_kafka import Producer

from pipeline import topics
from pipeline.cli import backtest, effectiveness, rules_status
from pipeline.cli.common import (
    BootstrapOption,
    console,
    default_rules_dir,
    load_settings,
    today_utc,
)
from pipeline.errors import DeliveryFailed, ScreeningError
from pipeline.kafka.producer import produce_waiting, producer_config
from pipeline.kafka.reader import read_compacted
from pipeline.rules.cases import run_cases
from pipeline.rules.governance import (
    BacktestReportInvalid,
    Expectations,
    compare,
    describe,
    expectations,
    overdue_reviews,
    published_state,
    version_problems,
)
from pipeline.rules.loader import load_ruleset
from pipeline.rules.model import RuleSet
from pipeline.rules.publish import ruleset_records

app = typer.Typer(
    help="Check, publish and backtest the risk rules; see what examinations say of them.",
    no_args_is_help=True,
)

DirArgument = typer.Argument(
    default_rules_dir,
    exists=True,
    file_okay=False,
    show_default="rules",
    help="The rule folder.",
)


class RuleCasesFailed(ScreeningError):
    """A rule's own cases disagree with it: fix the rule or the case."""


class RuleVersionsRefused(ScreeningError):
    """A rule changed without a new version, or went back to a lower one: nothing published."""


ReasonOption = Annotated[
    str | None,
    typer.Option(
        "--reason",
        help="Why this rule set is published; recorded in its manifest on the rules topic.",
        show_default=False,
    ),
]
ByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Who publishes, recorded in the manifest; default the operating-system user.",
        show_default=False,
    ),
]
DryRunOption = Annotated[
    bool,
    typer.Option(
        "--dry-run", help="Show what would change against what is published; send nothing."
    ),
]


RollbackOption = Annotated[
    bool,
    typer.Option(
        "--rollback",
        help="Publish an earlier rule set again: rules may go back to a lower version.",
    ),
]


ExpectedOption = Annotated[
    Path | None,
    typer.Option(
        "--expected",
        metavar="FILE.json",
        exists=True,
        dir_okay=False,
        readable=True,
        help="A report of `screening rules backtest --json-out` on this folder: each rule's "
        "matches per declaration in it are recorded in the manifest, and the workers alert "
        "when a rule's rate moves far from it.",
        show_default=False,
    ),
]


def _expectations(path: Path | None, ruleset: RuleSet) -> Expectations | None:
    if path is None:
        return None
    try:
        report = orjson.loads(path.read_bytes())
        return expectations(report, ruleset, path.name)
    except (orjson.JSONDecodeError, BacktestReportInvalid) as exc:
        problem = str(exc) if isinstance(exc, BacktestReportInvalid) else "not JSON"
        hint = "--expected"
        raise typer.BadParameter(problem.removeprefix(f"{path.name}: "), param_hint=hint) from exc


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unknown"


def checked_ruleset(directory: Path) -> RuleSet:
    ruleset = load_ruleset(directory)
    failures = run_cases(ruleset)
    if failures:
        raise RuleCasesFailed(
            f"{len(failures)} rule case(s) failed:\n" + "\n".join(map(str, failures))
        )
    return ruleset


@app.command("validate")
def validate(directory: Path = DirArgument) -> None:
    """Check every rule file and list, and run every rule's cases."""
    ruleset = checked_ruleset(directory)
    shadow = sum(r.shadow for r in ruleset.rules)
    cases = sum(
        len(r.cases.get("match", [])) + len(r.cases.get("no_match", [])) for r in ruleset.rules
    )
    console.print(
        f"{directory}: {len(ruleset)} rules ({shadow} in shadow mode), "
        f"{len(ruleset.lists)} lists, {cases} cases pass; version {ruleset.version}"
    )
    for line in overdue_reviews(ruleset, today_utc()):
        console.print(f"warning: {line}", markup=False, highlight=False)


@app.command("publish")
def publish(
    directory: Path = DirArgument,
    bootstrap: BootstrapOption = None,
    reason: ReasonOption = None,
    by: ByOption = None,
    dry_run: DryRunOption = False,
    rollback: RollbackOption = False,
    expected: ExpectedOption = None,
) -> None:
    """Validate the rules, show what changes against the published set, then publish them to
    running workers (they switch within seconds). A rule changed without a new version is
    refused."""
    kafka = load_settings(bootstrap).kafka
    ruleset = checked_ruleset(directory)
    estimate = _expectations(expected, ruleset)
    live = read_compacted(kafka, topics.RULES)
    published = published_state(live)
    problems = version_problems(published, ruleset, rollback=rollback)
    if problems:
        raise RuleVersionsRefused(
            f"rule set refused, nothing published: {len(problems)} rule(s) with a wrong "
            "version:\n" + "\n".join(problems)
        )
    changes = compare(published, ruleset)
    for line in describe(published, changes):
        console.print(line, markup=False, highlight=False)
    if estimate is not None:
        console.print(
            f"expected match rates of {len(estimate.ratios)} rules from {expected} "
            f"({estimate.declarations} declarations backtested)",
            markup=False,
            highlight=False,
        )
        for line in estimate.warnings():
            console.print(f"warning: {line}", markup=False, highlight=False)
    if dry_run:
        console.print(f"dry run: rule set {ruleset.version} not published")
        return
    if not changes.any and published.ruleset_version == ruleset.version:
        console.print(f"rule set {ruleset.version} is already published: nothing sent")
        if estimate is not None:
            console.print(
                "warning: the expected match rates were not recorded: they go with a publication",
                markup=False,
                highlight=False,
            )
        return
    if changes.any and not (reason and reason.strip()):
        console.print(
            "warning: no --reason given; the manifest records none. "
            'Say why with --reason "..." next time.',
            markup=False,
            highlight=False,
        )
    keys = [key.decode("utf-8", "replace") for key in live]
    producer = Producer(producer_config(kafka))
    records = ruleset_records(
        ruleset,
        keys,
        published_by=(by or "").strip() or _os_user(),
        reason=(reason or "").strip() or None,
        previous_ruleset_version=published.ruleset_version,
        changes=changes.summary(),
        **({"rollback": True} if rollback else {}),
        **(estimate.record() if estimate is not None else {}),
    )
    for key, value in records:
        produce_waiting(producer, topics.RULES, value, key.encode())
    if producer.flush(60):
        raise DeliveryFailed("the rule set was not fully acknowledged; publish again")
    retired = sum(value is None for _, value in records)
    console.print(
        f"published rule set {ruleset.version}: {len(ruleset)} rules, "
        f"{len(ruleset.list_entries)} lists, {retired} retired, to {topics.RULES}"
    )


app.command("status")(rules_status.status)
app.command("backtest")(backtest.backtest)
app.command("effectiveness")(effectiveness.effectiveness)
