"""A rule and a rule set, as loaded and checked."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from pipeline.contract.models import Action
from pipeline.rules.conditions import Node

__all__ = ["Rule", "RuleSet"]

ACTIONS = ("SCORE", "RFI", "HRCM", "DNL")
MODES = ("active", "shadow")
# What a rule is about. A data-quality rule (missing, vague or inconsistent data) asks for
# information: on its own it never refers cargo for screening, whatever the scores add up to.
SECURITY = "security"
DATA_QUALITY = "data-quality"
CONCERNS = (SECURITY, DATA_QUALITY)
DATA_QUALITY_ACTIONS = ("SCORE", "RFI")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    version: int
    title: str
    owner: str
    reason: str
    review_by: date
    mode: str
    action: Action
    score: float
    when: Node
    valid_from: date | None = None
    valid_to: date | None = None
    cases: Mapping[str, Any] = field(default_factory=dict)
    document: Mapping[str, Any] = field(default_factory=dict)  # as written, JSON-ready
    source: str = ""  # file path, or the topic record it came from
    concern: str = SECURITY

    @property
    def shadow(self) -> bool:
        return self.mode == "shadow"

    @property
    def data_quality(self) -> bool:
        return self.concern == DATA_QUALITY


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    lists: Mapping[str, frozenset[str]]  # normalised entries
    list_entries: Mapping[str, tuple[str, ...]]  # as written, for publishing
    version: str

    def __len__(self) -> int:
        return len(self.rules)


def ruleset_version(
    documents: list[Mapping[str, Any]], lists: Mapping[str, tuple[str, ...]]
) -> str:
    """A content digest: the same rules and lists give the same version everywhere."""
    canonical = orjson.dumps(
        {
            "rules": sorted(documents, key=lambda d: str(d.get("id"))),
            "lists": {name: sorted(entries) for name, entries in sorted(lists.items())},
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return "rs-" + hashlib.sha256(canonical).hexdigest()[:12]
