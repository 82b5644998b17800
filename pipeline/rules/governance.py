"""What a publication changes against the rule set on ``customs.rules.v1``, and whether it may.

Pure functions, no broker: the CLI reads the topic (``read_compacted``), hands its records to
``published_state`` and compares that with the folder's rule set. A rule whose document
changed must carry a higher ``version`` (every hit names the version that fired, so one number
must never stand for two texts), and no rule may go back to a lower version than the one
published. Documents are compared as the JSON the publisher writes (``Rule.document``), so
YAML formatting, comments and key order do not count as changes.

A publication may carry the backtest's estimate of each rule's match rate (``expectations``):
the workers export it beside the rule's matches, and an alert compares the two.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
import yaml

from pipeline.errors import ScreeningError
from pipeline.rules.model import Rule, RuleSet
from pipeline.rules.publish import LIST_KEY_PREFIX, MANIFEST_KEY

__all__ = [
    "BacktestMismatch",
    "BacktestReportInvalid",
    "Expectations",
    "PublishedState",
    "compare",
    "describe",
    "expectations",
    "overdue_reviews",
    "published_state",
    "rule_diff",
    "version_problems",
]

MAX_DIFF_LINES = 40  # per changed rule; the rest is summarised in one line
# Fewer declarations than this in a backtest make estimates that one busy hour contradicts.
MIN_BACKTEST_DECLARATIONS = 1000


class BacktestReportInvalid(ScreeningError):
    """The file is not a report of `screening rules backtest --json-out`: give that file."""


class BacktestMismatch(ScreeningError):
    """The backtest was run on another rule set: run it again with --rules on the folder you
    publish."""


@dataclass(frozen=True, slots=True)
class PublishedState:
    """What the rules topic holds now: rule documents by id, lists by name, the manifest."""

    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    manifest: Mapping[str, Any] | None = None

    @property
    def ruleset_version(self) -> str | None:
        return None if self.manifest is None else self.manifest.get("ruleset_version")


@dataclass(frozen=True, slots=True)
class ChangedRule:
    rule: Rule
    published: Mapping[str, Any]

    @property
    def old_version(self) -> Any:
        return self.published.get("version")


@dataclass(frozen=True, slots=True)
class ListChange:
    name: str
    added: int
    removed: int


@dataclass(frozen=True, slots=True)
class RuleSetChanges:
    added: tuple[Rule, ...] = ()
    retired: tuple[Mapping[str, Any], ...] = ()  # the published documents
    changed: tuple[ChangedRule, ...] = ()
    lists_added: tuple[str, ...] = ()
    lists_removed: tuple[str, ...] = ()
    lists_changed: tuple[ListChange, ...] = ()

    @property
    def any(self) -> bool:
        return bool(
            self.added
            or self.retired
            or self.changed
            or self.lists_added
            or self.lists_removed
            or self.lists_changed
        )

    def summary(self) -> dict[str, Any]:
        """For the manifest: which rules were added, retired and changed (old, new version)."""
        return {
            "added": [rule.id for rule in self.added],
            "retired": [str(doc.get("id")) for doc in self.retired],
            "changed": {c.rule.id: [c.old_version, c.rule.version] for c in self.changed},
            "lists": sorted(
                [*self.lists_added, *self.lists_removed, *(c.name for c in self.lists_changed)]
            ),
        }


def published_state(records: Mapping[bytes, bytes]) -> PublishedState:
    """The rule set on the topic, from its live records (key -> value, tombstones applied)."""
    rules: dict[str, Mapping[str, Any]] = {}
    lists: dict[str, tuple[str, ...]] = {}
    manifest: Mapping[str, Any] | None = None
    for raw_key, raw_value in records.items():
        key = raw_key.decode("utf-8", "replace")
        try:
            value = orjson.loads(raw_value)
        except orjson.JSONDecodeError:
            continue  # not ours to judge; the publisher retires or overwrites it
        if not isinstance(value, dict):
            continue
        if key == MANIFEST_KEY:
            manifest = value
        elif key.startswith(LIST_KEY_PREFIX):
            lists[key[len(LIST_KEY_PREFIX) :]] = tuple(value.get("entries") or ())
        else:
            rules[key] = value
    return PublishedState(rules, lists, manifest)


def normalised(document: Mapping[str, Any]) -> bytes:
    """A rule document as compared: its JSON with sorted keys."""
    return orjson.dumps(dict(document), option=orjson.OPT_SORT_KEYS)


def compare(published: PublishedState, ruleset: RuleSet) -> RuleSetChanges:
    """What publishing ``ruleset`` changes against ``published``."""
    added: list[Rule] = []
    changed: list[ChangedRule] = []
    for rule in sorted(ruleset.rules, key=lambda r: r.id):
        before = published.rules.get(rule.id)
        if before is None:
            added.append(rule)
        elif normalised(before) != normalised(rule.document):
            changed.append(ChangedRule(rule, before))
    wanted = {rule.id for rule in ruleset.rules}
    retired = [doc for rule_id, doc in sorted(published.rules.items()) if rule_id not in wanted]
    lists_changed = []
    for name in sorted(set(ruleset.list_entries) & set(published.lists)):
        new, old = set(ruleset.list_entries[name]), set(published.lists[name])
        if new != old:
            lists_changed.append(ListChange(name, len(new - old), len(old - new)))
    return RuleSetChanges(
        added=tuple(added),
        retired=tuple(retired),
        changed=tuple(changed),
        lists_added=tuple(sorted(set(ruleset.list_entries) - set(published.lists))),
        lists_removed=tuple(sorted(set(published.lists) - set(ruleset.list_entries))),
        lists_changed=tuple(lists_changed),
    )


def version_problems(
    published: PublishedState, ruleset: RuleSet, rollback: bool = False
) -> list[str]:
    """One line per rule whose version does not move as its content: file, id and the fix.
    With ``rollback`` (an earlier rule set published again), lower versions are allowed."""
    problems: list[str] = []
    for rule in sorted(ruleset.rules, key=lambda r: (r.source, r.id)):
        before = published.rules.get(rule.id)
        if before is None:
            continue
        old = before.get("version")
        if not isinstance(old, int) or isinstance(old, bool):
            continue  # nothing sound to compare with
        where = f"{rule.source}: rule {rule.id}" if rule.source else f"rule {rule.id}"
        if rule.version < old and not rollback:
            problems.append(
                f"{where}: version {rule.version} is lower than the published version {old}: "
                f"raise `version` to {old + 1}, or give --rollback to publish an earlier set again"
            )
        elif rule.version == old and normalised(before) != normalised(rule.document):
            problems.append(f"{where}: changed without a new version: raise `version` to {old + 1}")
    return problems


def rule_diff(change: ChangedRule, max_lines: int = MAX_DIFF_LINES) -> list[str]:
    """A unified diff of the published document and the new one, as YAML, cut at max_lines."""
    lines = list(
        difflib.unified_diff(
            _as_yaml(change.published),
            _as_yaml(change.rule.document),
            fromfile=f"published {change.rule.id} v{change.old_version}",
            tofile=f"{change.rule.source or 'new'} {change.rule.id} v{change.rule.version}",
            n=1,
            lineterm="",
        )
    )
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"... {len(lines) - max_lines} more diff lines"]
    return lines


def _as_yaml(document: Mapping[str, Any]) -> list[str]:
    text = yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, width=100)
    return text.splitlines()


def describe(published: PublishedState, changes: RuleSetChanges) -> list[str]:
    """The lines ``rules publish`` prints: what changes against what is published."""
    manifest = published.manifest
    if manifest is None and not published.rules:
        head = "nothing is published yet"
    else:
        # Never "published rule set ": scripts read the version after it on the last line.
        head = f"against rule set {published.ruleset_version or '(no manifest)'} on the topic"
        if manifest is not None and manifest.get("published_by"):
            head += f", published by {manifest['published_by']}"
            if manifest.get("published_at"):
                head += f" at {manifest['published_at']}"
            if manifest.get("reason"):
                head += f" ({manifest['reason']})"
    if not changes.any:
        return [f"{head}: no changes"]
    lines = [f"{head}:"]
    if changes.added:
        lines.append(f"  added ({len(changes.added)}):")
        lines += [f"    {r.id} v{r.version} {r.mode} {r.action}" for r in changes.added]
    if changes.retired:
        lines.append(f"  retired ({len(changes.retired)}):")
        lines += [f"    {d.get('id')} v{d.get('version')}" for d in changes.retired]
    if changes.changed:
        lines.append(f"  changed ({len(changes.changed)}):")
        for change in changes.changed:
            rule = change.rule
            lines.append(f"    {rule.id} version {change.old_version} -> {rule.version}")
            lines += [f"      {line}" for line in rule_diff(change)]
    for name in changes.lists_added:
        lines.append(f"  list added: {name}")
    for name in changes.lists_removed:
        lines.append(f"  list removed: {name}")
    for c in changes.lists_changed:
        lines.append(f"  list changed: {c.name} (+{c.added} -{c.removed} entries)")
    return lines


def overdue_reviews(ruleset: RuleSet, today: date) -> list[str]:
    """One warning line per rule whose ``review_by`` date has passed."""
    return [
        f"{rule.source}: rule {rule.id}: review was due by {rule.review_by.isoformat()} "
        f"({(today - rule.review_by).days} days ago)"
        for rule in sorted(ruleset.rules, key=lambda r: (r.review_by, r.id))
        if rule.review_by < today
    ]


@dataclass(frozen=True, slots=True)
class Expectations:
    """Each rule's matches per screened declaration in a backtest of the set published."""

    ratios: Mapping[str, float]
    declarations: int
    source: str

    def record(self) -> dict[str, Any]:
        """The manifest's fields."""
        return {
            "expected_match_ratio": dict(self.ratios),
            "expected_from": {"backtest": self.source, "declarations": self.declarations},
        }

    def warnings(self) -> list[str]:
        if self.declarations >= MIN_BACKTEST_DECLARATIONS:
            return []
        return [
            f"the backtest screened {self.declarations} declarations (fewer than "
            f"{MIN_BACKTEST_DECLARATIONS}): its estimates are rough"
        ]


def expectations(report: Any, ruleset: RuleSet, source: str) -> Expectations:
    """The expected match ratio of every rule of ``ruleset`` from a backtest report (the JSON
    of ``screening rules backtest --json-out``) of that same rule set."""
    run = report.get("rules") if isinstance(report, dict) else None
    per_rule = run.get("per_rule") if isinstance(run, dict) else None
    screened = run.get("screened") if isinstance(run, dict) else None
    if not isinstance(per_rule, list) or not isinstance(screened, int) or screened < 0:
        raise BacktestReportInvalid(
            f"{source}: not a report of `screening rules backtest --json-out` "
            "(no rules.per_rule and rules.screened)"
        )
    if screened == 0:
        raise BacktestReportInvalid(f"{source}: the backtest screened no declaration")
    tested = run.get("ruleset_version") if isinstance(run, dict) else None
    if tested != ruleset.version:
        raise BacktestMismatch(
            f"{source}: the backtest screened with rule set {tested}, not {ruleset.version}: "
            "run `screening rules backtest FILE.jsonl --rules <this folder> --json-out ...` again"
        )
    versions = {rule.id: rule.version for rule in ruleset.rules}
    ratios: dict[str, float] = {}
    for stats in per_rule:
        if not isinstance(stats, dict):
            continue
        rule_id, matches = stats.get("rule_id"), stats.get("matches")
        known = rule_id in versions and stats.get("version") == versions[rule_id]
        if known and isinstance(matches, int) and 0 <= matches <= screened:
            ratios[str(rule_id)] = float(f"{matches / screened:.6g}")
    return Expectations(ratios, screened, source)
