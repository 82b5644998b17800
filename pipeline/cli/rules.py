"""``screening rules validate|publish|backtest``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from confluent_kafka import Producer
from rich.console import Console
from rich.table import Table

from pipeline import topics
from pipeline.cli.common import BootstrapOption, console, load_settings
from pipeline.contract.models import Declaration
from pipeline.errors import DeliveryFailed, InputFileError, ScreeningError
from pipeline.kafka.producer import produce_waiting, producer_config
from pipeline.kafka.reader import read_compacted
from pipeline.rules.cases import run_cases
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.rules.model import RuleSet
from pipeline.rules.publish import ruleset_records
from pipeline.screening.decode import DecodeFailure, decode_declaration
from pipeline.screening.outcome import Thresholds, decide

app = typer.Typer(help="Check, publish and backtest the risk rules.", no_args_is_help=True)

DirArgument = typer.Argument(Path("rules"), help="The rule folder.", show_default=True)
_BACKTEST_BATCH = 1000
# The backtest's report is its result: it goes to standard output.
report = Console(soft_wrap=True)


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


@app.command("backtest")
def backtest(
    file: Path = typer.Argument(..., help="Recorded declarations, one JSON object per line."),
    rules: Path = typer.Option(Path("rules"), "--rules", help="The rule folder to test."),
    max_bytes: int = typer.Option(1_048_576, help="Size limit, as in the worker."),
) -> None:
    """Screen recorded declarations offline and report hits per rule and outcomes."""
    ruleset = load_ruleset(rules)
    evaluator = RuleEvaluator(CompiledRuleSet(ruleset))
    try:
        lines = file.read_bytes().splitlines()
    except OSError as exc:
        raise InputFileError(f"{file}: {exc.strerror}") from exc
    declarations: list[Declaration] = []
    rejected: Counter[str] = Counter()
    for line in lines:
        if not line.strip():
            continue
        decoded = decode_declaration(line, max_bytes)
        if isinstance(decoded, DecodeFailure):
            rejected[decoded.code] += 1
        elif decoded.message_type != "INVALIDATION":
            declarations.append(decoded)
    fired: Counter[str] = Counter()
    shadow_fired: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    thresholds = Thresholds()
    for start in range(0, len(declarations), _BACKTEST_BATCH):
        for evaluation in evaluator.evaluate(declarations[start : start + _BACKTEST_BATCH]):
            fired.update({m.rule_id for m in evaluation.matches})
            shadow_fired.update({m.rule_id for m in evaluation.shadow_matches})
            outcome, _ = decide(evaluation.matches, evaluation.score_reduction, thresholds)
            outcomes[outcome] += 1
    total = len(declarations) or 1
    table = Table(
        "rule", "version", "mode", "action", "hits", "share", title=f"Rule set {ruleset.version}"
    )
    for rule in ruleset.rules:
        hits = shadow_fired[rule.id] if rule.shadow else fired[rule.id]
        table.add_row(
            rule.id, str(rule.version), rule.mode, rule.action, str(hits), f"{hits / total:.2%}"
        )
    report.print(table)
    summary = ", ".join(f"{o} {n} ({n / total:.1%})" for o, n in outcomes.most_common())
    report.print(f"{len(declarations)} declarations screened: {summary}")
    if rejected:
        report.print(f"{sum(rejected.values())} lines rejected: {dict(rejected)}")
