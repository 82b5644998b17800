"""The rule set a worker screens with, kept current from ``customs.rules.v1``.

Records are collected as they come; when a manifest arrives whose rules and lists are all
present, the set is checked and compiled off the event loop, and swapped in. The agent reads
``current`` once per batch, so a switch happens between two batches. A set that fails its
checks is refused: it is logged and counted (``on_refused``), the running one stays, and
``refused_latest`` names it for as long as it is the newest set on the topic. Listeners added
with ``subscribe`` hear of every set taken up or refused (the worker's status record).

The manifest may carry the backtest's expected match ratio of each rule
(``expected_match_ratio``); the set in use keeps it beside the compiled rules, for the metrics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import orjson

from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.loader import RuleSetInvalid, build_ruleset
from pipeline.rules.publish import LIST_KEY_PREFIX, MANIFEST_KEY

__all__ = ["PublishedRules", "RuleSetHolder", "expected_ratios"]

log = logging.getLogger(__name__)

# Called with the compiled set, when it was published (Unix time) and the expected match
# ratio per rule id (empty when the manifest has none).
OnCompiled = Callable[[CompiledRuleSet, float | None, Mapping[str, float]], None]
EXPECTED_KEY = "expected_match_ratio"


class PublishedRules:
    """Applies rules-topic records; calls ``on_compiled`` with each new complete set."""

    def __init__(
        self, on_compiled: OnCompiled, on_refused: Callable[[str], None] | None = None
    ) -> None:
        self._on_compiled = on_compiled
        self._on_refused = on_refused
        self._listeners: list[Callable[[], None]] = []
        self._documents: dict[str, dict[str, Any]] = {}
        self._lists: dict[str, tuple[str, ...]] = {}
        self._manifest: dict[str, Any] | None = None
        self._active_version: str | None = None
        self._lock = threading.Lock()
        self.refused: list[str] = []
        # The newest manifest's version seen on the topic, taken up or not, and the version
        # of the last set taken up from the topic.
        self.latest_version: str | None = None
        self.taken_up: str | None = None

    @property
    def refused_latest(self) -> str | None:
        """The newest published set's version if this worker refused it, else None."""
        latest = self.latest_version
        return latest if latest is not None and latest in self.refused else None

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from the reading thread) after each set taken up or refused."""
        self._listeners.append(listener)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        name = key.decode("utf-8", "replace")
        document = orjson.loads(value) if value is not None else None
        with self._lock:
            if name == MANIFEST_KEY:
                self._manifest = document
                self.latest_version = _version(document)
            elif name.startswith(LIST_KEY_PREFIX):
                list_name = name[len(LIST_KEY_PREFIX) :]
                if document is None:
                    self._lists.pop(list_name, None)
                else:
                    self._lists[list_name] = tuple(document["entries"])
            elif document is None:
                self._documents.pop(name, None)
            else:
                self._documents[name] = document
            self._try_activate()

    def _try_activate(self) -> None:
        manifest = self._manifest
        if manifest is None or manifest.get("ruleset_version") == self._active_version:
            return
        wanted: dict[str, int] = manifest.get("rules", {})
        documents = [self._documents.get(rule_id) for rule_id in wanted]
        if any(
            d is None or d.get("version") != wanted[rule_id]
            for rule_id, d in zip(wanted, documents, strict=True)
        ):
            return  # not all of this set has arrived yet
        lists = {
            name: self._lists[name] for name in manifest.get("lists", []) if name in self._lists
        }
        if len(lists) != len(manifest.get("lists", [])):
            return
        version = manifest["ruleset_version"]
        try:
            ruleset = build_ruleset(
                [(f"{MANIFEST_KEY}:{d['id']}", d, None) for d in documents if d is not None],
                lists,
            )
            if ruleset.version != version:
                raise RuleSetInvalid([])
            compiled = CompiledRuleSet(ruleset)
        except RuleSetInvalid as exc:
            reason = str(exc) if exc.problems else "its content does not match its version"
            log.error("published rule set %s refused; the running set stays: %s", version, reason)
            self.refused.append(version)
            self._active_version = version  # do not try the same broken set again
            if self._on_refused is not None:
                self._on_refused(version)
            self._notify()
            return
        self._active_version = version
        self.taken_up = version
        self._on_compiled(compiled, _published_at(manifest), expected_ratios(manifest))
        self._notify()

    def _notify(self) -> None:
        for listener in tuple(self._listeners):
            try:
                listener()
            except Exception:  # a listener's failure must not stop the rules from applying
                log.exception("rule set listener failed")


def _version(manifest: dict[str, Any] | None) -> str | None:
    version = manifest.get("ruleset_version") if isinstance(manifest, dict) else None
    return version if isinstance(version, str) else None


def expected_ratios(manifest: Mapping[str, Any]) -> dict[str, float]:
    """The manifest's expected match ratio per rule of the set; values that are not a number
    from 0 to 1 are left out rather than refusing a set for its estimate."""
    given = manifest.get(EXPECTED_KEY)
    rules = manifest.get("rules") or {}
    if not isinstance(given, dict):
        return {}
    return {
        rule_id: float(ratio)
        for rule_id, ratio in given.items()
        if rule_id in rules
        and isinstance(ratio, int | float)
        and not isinstance(ratio, bool)
        and 0 <= ratio <= 1
    }


def _published_at(manifest: dict[str, Any]) -> float | None:
    try:
        return datetime.fromisoformat(manifest["published_at"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None


class RuleSetHolder:
    """The compiled rule set in use; replaced atomically, read once per batch."""

    def __init__(self) -> None:
        self._current: CompiledRuleSet | None = None
        # Unix times, for the metrics: when the set in use was published (None for a set read
        # from a folder) and when this worker took it up.
        self.published_at: float | None = None
        self.activated_at: float | None = None
        # The backtest's matches per declaration of each rule of the set in use, if published.
        self.expected: Mapping[str, float] = {}

    @property
    def ready(self) -> bool:
        return self._current is not None

    @property
    def current(self) -> CompiledRuleSet:
        if self._current is None:
            raise RuntimeError("no rule set loaded yet")
        return self._current

    def replace(
        self,
        compiled: CompiledRuleSet,
        published_at: float | None = None,
        expected: Mapping[str, float] | None = None,
    ) -> None:
        previous = self._current
        if previous is not None and compiled.version == previous.version:
            return
        log.info(
            "rule set %s (%d rules) in use, replacing %s",
            compiled.version,
            len(compiled.ruleset),
            previous.version if previous else "none",
        )
        self._current = compiled
        self.published_at = published_at
        self.expected = dict(expected or {})
        self.activated_at = time.time()
