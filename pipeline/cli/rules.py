"""``screening rules validate|publish|backtest``."""

from __future__ import annotations

from pathlib import Path

import typer
from confluent_kafka import Producer

from pipeline import topics
from pipeline.cli import backtest, effectiveness
from pipeline.cli.common import BootstrapOption, console, load_settings
from pipeline.errors import DeliveryFailed, ScreeningError
from pipeline.kafka.producer import produce_waiting, producer_config
from pipeline.kafka.reader import read_compacted
from pipeline.rules.cases import run_cases
from pipeline.rules.loader import load_ruleset
from pipeline.rules.model import RuleSet
from pipeline.rules.publish import ruleset_records

app = typer.Typer(
    help="Check, publish and backtest the risk rules; see what examinations say of them.",
    no_args_is_help=True,
)

DirArgument = typer.Argument(Path("rules"), help="The rule folder.", show_default=True)


class RuleCasesFailed(ScreeningError):
    """A rule's own cases disagree with it: fix the rule or the case."""


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


@app.command("publish")
def publish(directory: Path = DirArgument, bootstrap: BootstrapOption = None) -> None:
    """Validate the rules, then publish them to running workers (they switch within seconds)."""
    settings = load_settings(bootstrap)
    ruleset = checked_ruleset(directory)
    keys = [key.decode("utf-8", "replace") for key in read_compacted(settings, topics.RULES)]
    producer = Producer(producer_config(settings))
    records = ruleset_records(ruleset, keys)
    for key, value in records:
        produce_waiting(producer, topics.RULES, value, key.encode())
    if producer.flush(60):
        raise DeliveryFailed("the rule set was not fully acknowledged; publish again")
    retired = sum(value is None for _, value in records)
    console.print(
        f"published rule set {ruleset.version}: {len(ruleset)} rules, "
        f"{len(ruleset.list_entries)} lists, {retired} retired, to {topics.RULES}"
    )


app.command("backtest")(backtest.backtest)
app.command("effectiveness")(effectiveness.effectiveness)
