"""Metrics read at scrape time from what the worker holds: the rule set and the reference data."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pipeline.reference.parties import ReferenceData
from pipeline.rules.source import PublishedRules, RuleSetHolder
from pipeline.worker.startup import ReferenceMirrors

# Every family the collector yields (the docs' tests look names up here and in REGISTRY).
METRIC_NAMES = (
    "screening_ruleset_info",
    "screening_ruleset_rules",
    "screening_ruleset_published_timestamp_seconds",
    "screening_ruleset_refused_info",
    "screening_rule_expected_match_ratio",
    "screening_reference_records",
    "screening_reference_updated_timestamp_seconds",
)


class WorkerStateCollector(Collector):
    def __init__(
        self,
        rules: RuleSetHolder,
        reference: ReferenceData,
        mirrors: ReferenceMirrors,
        published: PublishedRules | None = None,
    ) -> None:
        self._rules = rules
        self._published = published
        self._reference = reference
        # The clearances are not here: officers clear false matches now and then, not daily,
        # so the age of the newest one says nothing about a missing delivery, and the
        # ScreeningReferenceDataStale alert (on every dataset of this metric) would fire.
        self._mirrors = {"aeo": mirrors.aeo, "watchlist": mirrors.watchlist}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._ruleset()
        yield from self._publication()
        yield from self._reference_data()

    def _ruleset(self) -> Sequence[GaugeMetricFamily]:
        info = GaugeMetricFamily(
            "screening_ruleset_info", "The rule set in use (value 1).", labels=["version"]
        )
        rules = GaugeMetricFamily(
            "screening_ruleset_rules", "Rules in the set in use, by mode.", labels=["mode"]
        )
        published = GaugeMetricFamily(
            "screening_ruleset_published_timestamp_seconds",
            "When the rule set in use was published (when it was taken up, if read from files).",
        )
        if not self._rules.ready:
            return [info, rules, published]
        compiled = self._rules.current
        info.add_metric([compiled.version], 1)
        shadow = sum(1 for rule in compiled.ruleset.rules if rule.shadow)
        rules.add_metric(["active"], len(compiled.ruleset.rules) - shadow)
        rules.add_metric(["shadow"], shadow)
        when = self._rules.published_at or self._rules.activated_at
        if when is not None:
            published.add_metric([], when)
        return [info, rules, published]

    def _publication(self) -> Sequence[GaugeMetricFamily]:
        refused = GaugeMetricFamily(
            "screening_ruleset_refused_info",
            "The newest published rule set, while this worker refuses it and screens with "
            "another (value 1).",
            labels=["version"],
        )
        expected = GaugeMetricFamily(
            "screening_rule_expected_match_ratio",
            "Matches per screened declaration that the backtest published with the rule set in "
            "use expects of each rule.",
            labels=["rule_id"],
        )
        version = self._published.refused_latest if self._published is not None else None
        if version is not None:
            refused.add_metric([version], 1)
        for rule_id, ratio in sorted(self._rules.expected.items()):
            expected.add_metric([rule_id], ratio)
        return [refused, expected]

    def _reference_data(self) -> Sequence[GaugeMetricFamily]:
        records = GaugeMetricFamily(
            "screening_reference_records",
            "Reference records held, by dataset.",
            labels=["dataset"],
        )
        updated = GaugeMetricFamily(
            "screening_reference_updated_timestamp_seconds",
            "Kafka timestamp of the newest reference record applied, by dataset.",
            labels=["dataset"],
        )
        records.add_metric(["aeo"], len(self._reference.registry))
        records.add_metric(["watchlist"], len(self._reference.watchlist))
        records.add_metric(["clearances"], len(self._reference.clearances))
        records.add_metric(["house_filings"], len(self._reference.consolidations))
        records.add_metric(["partner_findings"], len(self._reference.partner_findings))
        records.add_metric(["partner_aeo"], self._reference.registry.shared_count)
        for dataset, mirror in self._mirrors.items():
            if mirror.newest_timestamp_ms is not None:
                updated.add_metric([dataset], mirror.newest_timestamp_ms / 1000)
        return [records, updated]
