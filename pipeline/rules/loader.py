"""Load rule files and lists, check them, and report every problem with file, line and reason."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from pipeline.rules.conditions import (
    ConditionError,
    fields_in_scope,
    normalise_text,
    parse_condition,
    referenced_lists,
)
from pipeline.rules.model import (
    ACTIONS,
    CONCERNS,
    DATA_QUALITY,
    DATA_QUALITY_ACTIONS,
    MODES,
    SECURITY,
    Rule,
    RuleSet,
    ruleset_version,
)
from pipeline.rules.reasons import reason_fields, stray_braces
from pipeline.yaml_documents import (
    DocumentsRefused,
    Problem,
    checked_date,
    line_of,
    read_mapping,
    read_text,
)

__all__ = ["RuleSetInvalid", "json_ready", "load_ruleset"]

RULE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$(?!\n)")
LIST_NAME = re.compile(r"^[a-z0-9_]{1,64}$(?!\n)")
REQUIRED = (
    "id",
    "version",
    "title",
    "owner",
    "reason",
    "review_by",
    "mode",
    "action",
    "score",
    "when",
)
OPTIONAL = ("valid_from", "valid_to", "cases", "description", "tags", "concern")
LISTS_FOLDER = "lists"


class RuleSetInvalid(DocumentsRefused):
    """The rule set has errors; each names its file and line. Fix them and validate again."""

    what = "rule set"


def load_ruleset(directory: Path) -> RuleSet:
    """Load every ``*.yaml``/``*.yml`` rule under ``directory`` and the lists in ``lists/``."""
    if not directory.is_dir():
        raise RuleSetInvalid([Problem(str(directory), None, "not a folder")])
    problems: list[Problem] = []
    list_entries = _load_lists(directory / LISTS_FOLDER, problems)
    documents: list[tuple[str, Mapping[str, Any], yaml.Node | None]] = []
    files = sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    for path in files:
        loaded = read_mapping(path, problems, "a rule file holds one mapping (id, version, ...)")
        if loaded is not None:
            documents.append((str(path), *loaded))
    if not documents and not problems:
        problems.append(Problem(str(directory), None, "no rule files (*.yaml) found"))
    return build_ruleset(documents, list_entries, problems)


def build_ruleset(
    documents: Iterable[tuple[str, Mapping[str, Any], yaml.Node | None]],
    list_entries: Mapping[str, tuple[str, ...]],
    problems: list[Problem] | None = None,
) -> RuleSet:
    """Check documents (from files, or from the rules topic) into a rule set, or refuse it."""
    problems = problems if problems is not None else []
    lists = {
        name: frozenset(normalise_text(e) for e in entries)
        for name, entries in list_entries.items()
    }
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for source, document, node in documents:
        rule = _rule(source, document, node, lists, problems)
        if rule is None:
            continue
        if rule.id in seen:
            problems.append(
                Problem(
                    source,
                    line_of(node, ["id"]),
                    f"rule id {rule.id} is also used in {seen[rule.id]}",
                )
            )
            continue
        seen[rule.id] = source
        rules.append(rule)
    if problems:
        raise RuleSetInvalid(problems)
    used = {name for rule in rules for name in referenced_lists(rule.when)}
    kept = {name: entries for name, entries in list_entries.items() if name in used}
    version = ruleset_version([dict(r.document) for r in rules], kept)
    return RuleSet(
        tuple(sorted(rules, key=lambda r: r.id)),
        {name: lists[name] for name in kept},
        kept,
        version,
    )


def _rule(
    source: str,
    document: Mapping[str, Any],
    node: yaml.Node | None,
    lists: Mapping[str, frozenset[str]],
    problems: list[Problem],
) -> Rule | None:
    before = len(problems)

    def problem(path: list[str | int], reason: str) -> None:
        problems.append(Problem(source, line_of(node, path), reason))

    for key in REQUIRED:
        if key not in document:
            problem([], f"missing `{key}`")
    for key in document:
        if key not in REQUIRED and key not in OPTIONAL:
            problem([key], f"unknown key `{key}` (allowed: {', '.join(REQUIRED + OPTIONAL)})")
    if len(problems) > before:
        return None

    rule_id = document["id"]
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        problem(["id"], "`id` is 1-64 letters, digits, - or _")
    version = document["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problem(["version"], "`version` is a whole number from 1")
    for key in ("title", "owner", "reason"):
        if not isinstance(document[key], str) or not document[key].strip():
            problem([key], f"`{key}` is non-empty text")
    if document["mode"] not in MODES:
        problem(["mode"], f"`mode` is one of {', '.join(MODES)}")
    if document["action"] not in ACTIONS:
        problem(["action"], f"`action` is one of {', '.join(ACTIONS)}")
    concern = document.get("concern", SECURITY)
    if concern not in CONCERNS:
        problem(["concern"], f"`concern` is one of {', '.join(CONCERNS)}")
    elif concern == DATA_QUALITY and document["action"] not in DATA_QUALITY_ACTIONS:
        problem(
            ["action"],
            "a data-quality rule asks for information: its `action` is "
            + " or ".join(DATA_QUALITY_ACTIONS),
        )
    score = document["score"]
    if not isinstance(score, int | float) or isinstance(score, bool) or not -1000 <= score <= 1000:
        problem(["score"], "`score` is a number from -1000 to 1000")
    review_by = checked_date(document, "review_by", problem, required=True)
    valid_from = checked_date(document, "valid_from", problem)
    valid_to = checked_date(document, "valid_to", problem)
    if valid_from and valid_to and valid_from > valid_to:
        problem(["valid_to"], "`valid_to` is before `valid_from`")
    cases = document.get("cases") or {}
    _check_cases(cases, problem)
    try:
        when = parse_condition(document["when"], lists)
    except ConditionError as exc:
        problem(_path_segments(exc.path), exc.message)
        when = None
    if isinstance(document["reason"], str) and stray_braces(document["reason"]):
        # The officer would read the brace as it is: only `{field}` is filled in.
        problem(["reason"], "the reason has a `{` or `}` that is not a `{field}` placeholder")
    if when is not None and isinstance(document["reason"], str):
        usable = fields_in_scope(when)
        for name in reason_fields(document["reason"]):
            if name not in usable:
                problem(["reason"], f"the reason names {{{name}}}, which is not a field here")
    if len(problems) > before or when is None or review_by is None:
        return None
    return Rule(
        id=rule_id,
        version=version,
        title=document["title"].strip(),
        owner=document["owner"].strip(),
        reason=document["reason"].strip(),
        review_by=review_by,
        mode=document["mode"],
        action=document["action"],
        score=float(score),
        when=when,
        valid_from=valid_from,
        valid_to=valid_to,
        cases=cases,
        document=json_ready(document),
        source=source,
        concern=concern,
    )


def _check_cases(cases: Any, problem: Any) -> None:
    if not isinstance(cases, Mapping):
        problem(["cases"], "`cases` is a mapping with `match` and `no_match` lists")
        return
    for key, value in cases.items():
        if key not in ("match", "no_match"):
            problem(["cases", key], f"unknown case kind `{key}` (match, no_match)")
        elif not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            problem(["cases", key], f"`cases.{key}` is a list of declaration fragments")
    if not cases.get("match"):
        problem(["cases"], "give at least one `match` case, so the rule is shown to fire")


def _load_lists(folder: Path, problems: list[Problem]) -> dict[str, tuple[str, ...]]:
    lists: dict[str, tuple[str, ...]] = {}
    if not folder.is_dir():
        return lists
    for path in sorted(folder.glob("*.txt")):
        name = path.stem
        if not LIST_NAME.match(name):
            problems.append(
                Problem(str(path), None, "list names are lower-case letters, digits, _")
            )
            continue
        text = read_text(path, problems)
        if text is None:
            continue
        entries: list[str] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            entry = raw.split("#", 1)[0].strip()
            if not entry:
                continue
            if len(entry) > 256:
                problems.append(Problem(str(path), number, "entry longer than 256 characters"))
                continue
            entries.append(entry)
        if not entries:
            problems.append(Problem(str(path), None, "the list is empty"))
        lists[name] = tuple(entries)
    return lists


def json_ready(value: Any) -> Any:
    """YAML data as JSON data: dates become ISO text."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _path_segments(path: str) -> list[str | int]:
    """'when.any[1].hs_code.equals' -> ['when', 'any', 1, 'hs_code', 'equals']."""
    return [int(index) if index else name for name, index in _SEGMENT.findall(path)]
