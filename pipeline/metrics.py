"""Every metric the worker exports, declared once, in base units, updated once per batch.

Labels take bounded values only: outcomes, rejection codes, rule ids, partitions, datasets.
Never a declaration id or a party.
"""

from __future__ import annotations

import bisect
import platform
import threading
from collections.abc import Iterable, Iterator, Sequence
from importlib import metadata
from typing import Literal, get_args

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

from pipeline.feedback.stats import Tally
from pipeline.screening.batch import BatchResult
from pipeline.standard_collectors import register_standard_collectors

# `_created` series double every counter's output and no dashboard or alert reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]


REGISTRY = CollectorRegistry(auto_describe=True)
register_standard_collectors(REGISTRY)

# Around the service objective (p99 within 1 s of the filing reaching Kafka), and far enough
# out to show a backlog being worked off.
LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
)
LATENCY_SOURCES = ("submitted_at", "kafka_timestamp")

DECLARATIONS_CONSUMED = Counter(
    "screening_declarations_consumed_total",
    "Declaration records taken from the input topic.",
    registry=REGISTRY,
)
ASSESSMENTS = Counter(
    "screening_assessments_total",
    "Assessments produced, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
REJECTIONS = Counter(
    "screening_rejections_total",
    "Messages sent to the dead-letter topic, by rejection code.",
    ["code"],
    registry=REGISTRY,
)
HITS = Counter(
    "screening_hits_total",
    "Targeting hits published (open referrals), by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
HIT_TOMBSTONES = Counter(
    "screening_hit_tombstones_total",
    "Referrals closed on the hits topic by a later version or an invalidation.",
    registry=REGISTRY,
)
RULE_MATCHES = Counter(
    "screening_rule_matches_total",
    "Matches of active rules in assessed declarations, by rule and the rule's action.",
    ["rule_id", "action"],
    registry=REGISTRY,
)
SHADOW_MATCHES = Counter(
    "screening_shadow_matches_total",
    "Matches of shadow-mode rules (recorded, never acted on), by rule.",
    ["rule_id"],
    registry=REGISTRY,
)
RULESETS_REFUSED = Counter(
    "screening_ruleset_refused_total",
    "Published rule sets this worker refused (they failed its checks; the running set stayed).",
    registry=REGISTRY,
)
NOTICE_KINDS = ("ASSESSMENT_COMPLETE", "RFI", "HRCM", "DNL", "REJECTED", "REFERRAL_CLOSED")
FILER_NOTICES = Counter(
    "screening_filer_notices_total",
    "Notices to filers produced on customs.filer.notices.v1, by kind.",
    ["kind"],
    registry=REGISTRY,
)
FILER_NOTICES_UNADDRESSED = Counter(
    "screening_filer_notices_unaddressed_total",
    "Notices not sent because the message named no filer (no filer_id, no declarant id; for "
    "REJECTED also a message that is not a JSON object), by the kind they would have been.",
    ["kind"],
    registry=REGISTRY,
)
# Every kind is exported from the start, at 0.
for _kind in NOTICE_KINDS:
    FILER_NOTICES.labels(_kind)
    FILER_NOTICES_UNADDRESSED.labels(_kind)
PARTNER_MESSAGES_SENT = Counter(
    "screening_partner_messages_sent_total",
    "Messages to partner administrations produced on customs.c2c.outbound.v1, by partner "
    "(ISO 3166-1 alpha-2) and kind.",
    ["partner", "kind"],
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "screening_batch_size",
    "Declarations per screened batch.",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
    registry=REGISTRY,
)
BATCH_SECONDS = Histogram(
    "screening_batch_processing_seconds",
    "Time to screen a batch and have its outputs acknowledged by Kafka.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
LAST_PROCESSED = Gauge(
    "screening_last_processed_timestamp_seconds",
    "Unix time at which the last batch was completed.",
    registry=REGISTRY,
)
CONSUMER_LAG_MESSAGES = Gauge(
    "screening_consumer_lag_messages",
    "Declarations in this worker's partitions not screened yet.",
    ["partition"],
    registry=REGISTRY,
)
CONSUMER_LAG_SECONDS = Gauge(
    "screening_consumer_lag_seconds",
    "Age of the oldest declaration not screened yet, per partition of this worker.",
    ["partition"],
    registry=REGISTRY,
)
# Each time the worker's consumer sends a declarations partition back to the first record
# not handled. Any but "stalled" is routine around a rebalance; "stalled" means the partition
# had been left unread.
RewindReason = Literal["dropped", "skipped", "beyond_hole", "stalled"]
REWIND_REASONS: tuple[RewindReason, ...] = get_args(RewindReason)
PARTITION_REWINDS = Counter(
    "screening_partition_rewinds_total",
    "Seeks of a declarations partition back to its first record not handled, by reason: "
    "dropped (records fetched across a seek or a rebalance, not delivered), skipped (a batch "
    "delivered and not handled), beyond_hole (a batch handled after records that were not), "
    "stalled (records waiting and the partition not read for a minute).",
    ["reason"],
    registry=REGISTRY,
)
for _reason in REWIND_REASONS:
    PARTITION_REWINDS.labels(_reason)


# Examination feedback (pipeline/feedback): counted as the worker joins each declaration
# version's assessment and examination result, once per version whatever is redelivered.
FEEDBACK_ASSESSMENTS = Counter(
    "screening_feedback_assessments_total",
    "Assessments taken into the examination join, by disposition (joined: the first for its "
    "declaration version; duplicate: that version was already joined).",
    ["disposition"],
    registry=REGISTRY,
)
EXAMINATION_RESULTS = Counter(
    "screening_examination_results_total",
    "Examination results consumed, by disposition: joined, waiting (no assessment of that "
    "declaration version yet), duplicate, conflict (a different result was already counted), "
    "malformed, misrouted (not in its declaration's partition).",
    ["disposition"],
    registry=REGISTRY,
)
EXAMINATIONS_JOINED_LATE = Counter(
    "screening_examination_results_joined_late_total",
    "Waiting examination results joined when their assessment arrived.",
    registry=REGISTRY,
)
RULE_REFERRALS = Counter(
    "screening_rule_referrals_total",
    "Declaration versions referred (RFI, HRCM, DNL) in which the active rule matched.",
    ["rule_id"],
    registry=REGISTRY,
)
RULE_EXAMINATIONS = Counter(
    "screening_rule_examinations_total",
    "Examinations (SEIZURE, IRREGULARITY, NO_FINDING) of the rule's referrals.",
    ["rule_id"],
    registry=REGISTRY,
)
RULE_SEIZURES = Counter(
    "screening_rule_seizures_total",
    "Examinations of the rule's referrals that ended in a seizure.",
    ["rule_id"],
    registry=REGISTRY,
)
RULE_IRREGULARITIES = Counter(
    "screening_rule_irregularities_total",
    "Examinations of the rule's referrals that found an irregularity.",
    ["rule_id"],
    registry=REGISTRY,
)
UNREFERRED_EXAMINATIONS = Counter(
    "screening_unreferred_examinations_total",
    "Examinations of declaration versions that were assessed and not referred.",
    registry=REGISTRY,
)
UNREFERRED_FINDINGS = Counter(
    "screening_unreferred_findings_total",
    "Seizures and irregularities in examinations of declaration versions not referred.",
    registry=REGISTRY,
)
FEEDBACK_ENTRIES_EXPIRED = Counter(
    "screening_feedback_entries_expired_total",
    "Examination join entries deleted after the join's horizon (the assessments' retention).",
    registry=REGISTRY,
)
PARTNER_MESSAGES = Counter(
    "screening_partner_messages_received_total",
    "Messages read from partner administrations (each worker reads every one, again at each "
    "start), by partner, kind and result: applied, or refused (dead-lettered with the reason).",
    ["partner", "kind", "result"],
    registry=REGISTRY,
)
FEEDBACK_DISPOSITIONS = ("joined", "duplicate")
EXAMINATION_DISPOSITIONS = ("joined", "waiting", "duplicate", "conflict", "malformed", "misrouted")
# Every disposition is exported from the start, at 0: a dashboard shows "none" as 0.
for _disposition in FEEDBACK_DISPOSITIONS:
    FEEDBACK_ASSESSMENTS.labels(_disposition)
for _disposition in EXAMINATION_DISPOSITIONS:
    EXAMINATION_RESULTS.labels(_disposition)


class BatchHistogram(Collector):
    """A labelled histogram fed a batch of observations at a time.

    prometheus-client's Histogram takes one observation per call (with a lock each time);
    end-to-end latency has one observation per declaration, so it is counted here in bulk.
    """

    def __init__(self, name: str, documentation: str, label: str, buckets: Sequence[float]) -> None:
        self._name = name
        self._documentation = documentation
        self._label = label
        self._bounds = list(buckets)
        self._counts: dict[str, list[int]] = {}
        self._sums: dict[str, float] = {}
        self._lock = threading.Lock()

    def observe_many(self, label_value: str, values: Iterable[float]) -> None:
        counts = [0] * (len(self._bounds) + 1)
        total = 0.0
        bounds = self._bounds
        for value in values:
            counts[bisect.bisect_left(bounds, value)] += 1
            total += value
        with self._lock:
            held = self._counts.setdefault(label_value, [0] * len(counts))
            for i, n in enumerate(counts):
                held[i] += n
            self._sums[label_value] = self._sums.get(label_value, 0.0) + total

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=[self._label])
        with self._lock:
            snapshot = {k: (list(v), self._sums[k]) for k, v in self._counts.items()}
        for label_value, (counts, total) in sorted(snapshot.items()):
            cumulative, buckets = 0, []
            for bound, n in zip([*map(_bound_text, self._bounds), "+Inf"], counts, strict=True):
                cumulative += n
                buckets.append((bound, float(cumulative)))
            family.add_metric([label_value], buckets, total)
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self._name, self._documentation, labels=[self._label])


def _bound_text(bound: float) -> str:
    return repr(float(bound))


END_TO_END_LATENCY = BatchHistogram(
    "screening_end_to_end_latency_seconds",
    "From a declaration's submitted_at, or its Kafka record timestamp, to its assessment "
    "being acknowledged by Kafka.",
    "source",
    LATENCY_BUCKETS,
)
REGISTRY.register(END_TO_END_LATENCY)


# Collectors of what a worker holds, by name: a worker built again in the same process (the
# tests) replaces its earlier ones instead of registering a second copy.
_collectors: dict[str, Collector] = {}


def register_collector(name: str, collector: Collector) -> None:
    """Export ``collector`` under ``name``, replacing the one registered under it before."""
    earlier = _collectors.pop(name, None)
    if earlier is not None:
        REGISTRY.unregister(earlier)
    REGISTRY.register(collector)
    _collectors[name] = collector


def register_state(collector: Collector) -> None:
    """Export what the worker holds (rule set, reference data)."""
    register_collector("state", collector)


def register_links(collector: Collector) -> None:
    """Export the partner links' lag (c2c/link_metrics.py)."""
    register_collector("links", collector)


def _build_info() -> None:
    build = Gauge(
        "screening_build_info",
        "The worker's version and the versions it runs on.",
        ["version", "python", "faust"],
        registry=REGISTRY,
    )
    build.labels(
        metadata.version("customs-screening"),
        platform.python_version(),
        metadata.version("faust-streaming"),
    ).set(1)


_build_info()


def record_batch(
    consumed: int,
    result: BatchResult,
    seconds: float,
    now: float,
    latencies: dict[str, list[float]],
) -> None:
    DECLARATIONS_CONSUMED.inc(consumed)
    for outcome, count in result.outcomes.items():
        ASSESSMENTS.labels(outcome).inc(count)
    for code, count in result.rejections.items():
        REJECTIONS.labels(code).inc(count)
    for outcome, count in result.hits_by_outcome.items():
        HITS.labels(outcome).inc(count)
    if result.tombstones:
        HIT_TOMBSTONES.inc(result.tombstones)
    for (rule_id, action), count in result.rule_matches.items():
        RULE_MATCHES.labels(rule_id, action).inc(count)
    for rule_id, count in result.shadow_matches.items():
        SHADOW_MATCHES.labels(rule_id).inc(count)
    for kind, count in result.notices.items():
        FILER_NOTICES.labels(kind).inc(count)
    for kind, count in result.notices_unaddressed.items():
        FILER_NOTICES_UNADDRESSED.labels(kind).inc(count)
    for (partner, kind), count in result.partner_messages.items():
        PARTNER_MESSAGES_SENT.labels(partner, kind).inc(count)
    BATCH_SIZE.observe(consumed)
    BATCH_SECONDS.observe(seconds)
    LAST_PROCESSED.set(now)
    for source, values in latencies.items():
        if values:
            END_TO_END_LATENCY.observe_many(source, values)


def record_feedback(tally: Tally, malformed: int) -> None:
    """What one batch of the examination join added."""
    events = tally.events
    for disposition in FEEDBACK_DISPOSITIONS:
        if events[f"assessment_{disposition}"]:
            FEEDBACK_ASSESSMENTS.labels(disposition).inc(events[f"assessment_{disposition}"])
    for disposition in ("joined", "waiting", "duplicate", "conflict"):
        if events[f"examination_{disposition}"]:
            EXAMINATION_RESULTS.labels(disposition).inc(events[f"examination_{disposition}"])
    if malformed:
        EXAMINATION_RESULTS.labels("malformed").inc(malformed)
    if events["examination_joined_late"]:
        EXAMINATIONS_JOINED_LATE.inc(events["examination_joined_late"])
    for rule_id in tally.referrals:
        # A referred rule's examination series exist from its first referral, at 0, so that
        # its precision reads "no examinations yet" instead of missing.
        for counter in (RULE_EXAMINATIONS, RULE_SEIZURES, RULE_IRREGULARITIES):
            counter.labels(rule_id)
    for counter, counts in (
        (RULE_REFERRALS, tally.referrals),
        (RULE_EXAMINATIONS, tally.examinations),
        (RULE_SEIZURES, tally.seizures),
        (RULE_IRREGULARITIES, tally.irregularities),
    ):
        for rule_id, count in counts.items():
            counter.labels(rule_id).inc(count)
    if tally.unreferred_examinations:
        UNREFERRED_EXAMINATIONS.inc(tally.unreferred_examinations)
    if tally.unreferred_findings:
        UNREFERRED_FINDINGS.inc(tally.unreferred_findings)
