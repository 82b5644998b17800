"""Every metric the worker exports, declared once, in base units, updated once per batch."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from pipeline.screening.batch import BatchResult

REGISTRY = CollectorRegistry(auto_describe=True)

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
    "screening_hits_total", "Targeting hits published (open referrals).", registry=REGISTRY
)
HIT_TOMBSTONES = Counter(
    "screening_hit_tombstones_total",
    "Referrals closed on the hits topic by a later version or an invalidation.",
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


def record_batch(consumed: int, result: BatchResult, seconds: float, now: float) -> None:
    DECLARATIONS_CONSUMED.inc(consumed)
    for outcome, count in result.outcomes.items():
        ASSESSMENTS.labels(outcome).inc(count)
    for code, count in result.rejections.items():
        REJECTIONS.labels(code).inc(count)
    if result.hits:
        HITS.inc(result.hits)
    if result.tombstones:
        HIT_TOMBSTONES.inc(result.tombstones)
    BATCH_SIZE.observe(consumed)
    BATCH_SECONDS.observe(seconds)
    LAST_PROCESSED.set(now)
