"""Every metric the workbench exports, in base units, on its own registry (its own process).

No label carries a case, a declaration, a party or an officer.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)

from pipeline.standard_collectors import register_standard_collectors

REGISTRY = CollectorRegistry(auto_describe=True)
register_standard_collectors(REGISTRY)

INGESTED = Counter(
    "screening_workbench_records_total",
    "Kafka records applied to the case store, by topic and what they did.",
    ["topic", "effect"],
    registry=REGISTRY,
)
INGEST_DELAY = Histogram(
    "screening_workbench_ingest_delay_seconds",
    "From a hit's assessment to its case being committed in the database.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
INGEST_FAILURES = Counter(
    "screening_workbench_ingest_failures_total",
    "Batches not applied because the database failed; they are read again.",
    registry=REGISTRY,
)
OUTBOX_PUBLISHED = Counter(
    "screening_workbench_outbox_published_total",
    "Records published from the outbox, by topic.",
    ["topic"],
    registry=REGISTRY,
)
OUTBOX_PENDING = Gauge(
    "screening_workbench_outbox_pending",
    "Outbox records not yet acknowledged by Kafka.",
    registry=REGISTRY,
)
PARTNER_MESSAGES_REFUSED = Counter(
    "screening_workbench_partner_messages_refused_total",
    "Partner administrations' messages not applied, by reason (invalid, no_agreement,"
    " wrong_sender, kind_not_accepted, agreement_not_in_force, not_for_us).",
    ["reason"],
    registry=REGISTRY,
)
CASE_ACTIONS = Counter(
    "screening_workbench_case_actions_total",
    "Changes officers made to cases, by kind.",
    ["kind"],
    registry=REGISTRY,
)
DATABASE_UP = Gauge(
    "screening_workbench_database_up",
    "1 while the workbench reaches its database (the outbox reads it several times a second).",
    registry=REGISTRY,
)
DEADLINES_MISSED = Counter(
    "screening_workbench_deadlines_missed_total",
    "Referrals escalated because no response came before loading or in the time given.",
    ["outcome"],
    registry=REGISTRY,
)
OVERDUE_REFERRALS = Gauge(
    "screening_workbench_overdue_referrals",
    "Open referrals escalated for a missed deadline, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
