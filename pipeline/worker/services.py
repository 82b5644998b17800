"""What runs beside Faust in a worker: the copies of the rule set and the reference data
(``startup``), the status heartbeat and the partner link sampler. Starting them is a step of
its own, before the Faust app is built (``app.build_app``), which starts no thread and connects
nowhere."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pipeline import metrics
from pipeline.c2c.link import link_lag_seconds
from pipeline.c2c.link_metrics import LinkLagSampler
from pipeline.c2c.sending import Sharing
from pipeline.kafka.mirror import TopicMirror
from pipeline.reference.parties import ReferenceData
from pipeline.rules.source import PublishedRules, RuleSetHolder
from pipeline.settings import Settings
from pipeline.worker.memory import settle_long_lived_objects
from pipeline.worker.startup import ReferenceMirrors, start_reference, start_rules
from pipeline.worker.state_metrics import WorkerStateCollector
from pipeline.worker.status import StatusReporter, snapshot_of

__all__ = ["WorkerServices", "start_services"]


@dataclass(frozen=True, slots=True)
class WorkerServices:
    reference: ReferenceData
    reference_mirrors: ReferenceMirrors
    rules: RuleSetHolder
    rules_mirror: TopicMirror
    published: PublishedRules
    status: StatusReporter
    links: LinkLagSampler | None  # None when metrics are off

    @property
    def mirrors(self) -> tuple[TopicMirror, ...]:
        return (*self.reference_mirrors, self.rules_mirror)

    def stop(self) -> None:
        self.status.stop()
        if self.links is not None:
            self.links.stop()


def start_services(settings: Settings, sharing: Sharing) -> WorkerServices:
    """Reference data and rules loaded (waiting up to ``reference_wait_s`` for each copy), the
    status heartbeat and the partner link sampler running, their metrics registered; then the
    garbage collector is told that what is loaded lives for good."""
    reference, reference_mirrors = start_reference(settings, sharing.agreements)
    rules, rules_mirror, published = start_rules(settings)
    status = StatusReporter(settings, snapshot_of(settings, rules, published)).start()
    published.subscribe(status.changed)
    links = None
    if settings.worker.metrics_enabled:
        metrics.register_state(WorkerStateCollector(rules, reference, reference_mirrors, published))
        links = LinkLagSampler(
            [agreement.alias for agreement in sharing.agreements],
            functools.partial(link_lag_seconds, settings.kafka),
        ).start()
        metrics.register_links(links)
    settle_long_lived_objects()
    return WorkerServices(
        reference, reference_mirrors, rules, rules_mirror, published, status, links
    )
