"""The rule set on ``customs.rules.v1``: one record per rule (keyed by its id), one per named
list, and last a manifest naming the rule set version and every rule's version, and who
published it, why, and what changed against the set before it.

Workers switch only when a manifest arrives and every record it names is there, so a half-
published set is never used. Rules of an earlier set that are gone get tombstones (retired).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from pipeline.rules.model import RuleSet

__all__ = ["MANIFEST_KEY", "ruleset_records"]

MANIFEST_KEY = "ruleset:manifest"
LIST_KEY_PREFIX = "list:"


def manifest(ruleset: RuleSet, **record: Any) -> dict[str, Any]:
    """The manifest; ``record`` adds who published and why (``published_by``, ``reason``,
    ``previous_ruleset_version``, ``changes``) and, from a backtest, each rule's expected
    matches per declaration (``expected_match_ratio``, with ``expected_from``: the report's
    file and how many declarations it screened). Workers read the fields above, and the
    expected ratios for their metrics."""
    return {
        "ruleset_version": ruleset.version,
        "rules": {rule.id: rule.version for rule in ruleset.rules},
        "lists": sorted(ruleset.list_entries),
        "published_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        **record,
    }


def ruleset_records(
    ruleset: RuleSet, keys_on_topic: Iterable[str], **record: Any
) -> list[tuple[str, bytes | None]]:
    """Records that make the topic hold exactly ``ruleset``, manifest (with ``record``) last."""
    records: list[tuple[str, bytes | None]] = []
    wanted: set[str] = {MANIFEST_KEY}
    for rule in ruleset.rules:
        records.append((rule.id, orjson.dumps(dict(rule.document))))
        wanted.add(rule.id)
    for name, entries in sorted(ruleset.list_entries.items()):
        key = LIST_KEY_PREFIX + name
        records.append((key, orjson.dumps({"name": name, "entries": list(entries)})))
        wanted.add(key)
    for key in sorted(set(keys_on_topic) - wanted):
        records.append((key, None))
    records.append((MANIFEST_KEY, orjson.dumps(manifest(ruleset, **record))))
    return records
