"""What the worker exports at scrape time about its rule set: the latest published set while
it refuses it, and the backtest's estimate of each rule; and the refusal counter."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pipeline import metrics
from pipeline.reference.aeo import AeoRegistry
from pipeline.reference.clearances import Clearances
from pipeline.reference.parties import ReferenceData
from pipeline.reference.watchlist import Watchlist
from pipeline.rules.loader import load_ruleset
from pipeline.rules.publish import MANIFEST_KEY, ruleset_records
from pipeline.rules.source import PublishedRules, RuleSetHolder
from pipeline.worker.startup import ReferenceMirrors
from pipeline.worker.state_metrics import METRIC_NAMES, WorkerStateCollector

RULE = """\
id: {id}
version: 1
title: t
owner: o
reason: r
review_by: 2099-01-01
mode: {mode}
action: RFI
score: 30
when: {{any_goods: {{hs_chapter: '93'}}}}
cases: {{match: [{{goods: [{{hs_code: '930690'}}]}}]}}
"""

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _scrape(collector: WorkerStateCollector) -> tuple[set[str], Samples]:
    registry = CollectorRegistry()
    registry.register(collector)
    families = list(text_string_to_metric_families(generate_latest(registry).decode()))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples
    }
    return {f.name for f in families}, samples


def _collector(holder: RuleSetHolder, published: PublishedRules) -> WorkerStateCollector:
    mirror = SimpleNamespace(newest_timestamp_ms=None)
    mirrors = ReferenceMirrors(**{f.name: cast(Any, mirror) for f in fields(ReferenceMirrors)})
    reference = ReferenceData(AeoRegistry(), Watchlist(), Clearances())
    return WorkerStateCollector(holder, reference, mirrors, published)


def test_refused_latest_and_expected_ratios_are_exported(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(RULE.format(id="A", mode="active"))
    (tmp_path / "b.yaml").write_text(RULE.format(id="B", mode="shadow"))
    ruleset = load_ruleset(tmp_path)
    holder = RuleSetHolder()
    published = PublishedRules(holder.replace)
    collector = _collector(holder, published)
    names, samples = _scrape(collector)
    assert names == set(METRIC_NAMES)
    assert not any(name == "screening_ruleset_refused_info" for name, _ in samples)

    estimate = {"A": 0.02, "B": 0.005}
    for key, value in ruleset_records(ruleset, [], expected_match_ratio=estimate):
        published.apply(key.encode(), value)
    _, samples = _scrape(collector)
    assert samples[("screening_rule_expected_match_ratio", (("rule_id", "A"),))] == 0.02
    assert samples[("screening_rule_expected_match_ratio", (("rule_id", "B"),))] == 0.005
    assert samples[("screening_ruleset_info", (("version", ruleset.version),))] == 1

    broken = {"ruleset_version": "rs-broken", "rules": {"A": 2}, "lists": []}
    published.apply(b"A", orjson.dumps({"id": "A", "version": 2, "action": "EXPLODE"}))
    published.apply(MANIFEST_KEY.encode(), orjson.dumps(broken))
    _, samples = _scrape(collector)
    assert samples[("screening_ruleset_refused_info", (("version", "rs-broken"),))] == 1
    assert samples[("screening_ruleset_info", (("version", ruleset.version),))] == 1
    # The running set keeps its estimates.
    assert samples[("screening_rule_expected_match_ratio", (("rule_id", "A"),))] == 0.02


def test_the_refusal_counter_is_exported_from_the_start() -> None:
    text = generate_latest(metrics.REGISTRY).decode()
    assert "\nscreening_ruleset_refused_total " in text
