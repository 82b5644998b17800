"""Every topic the pipeline reads or writes, declared once.

``screening topics ensure`` creates them from this table, the worker and the commands take
their names from it, and the tests read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DECLARATIONS = "customs.declarations.v1"
ASSESSMENTS = "customs.assessments.v1"
HITS = "customs.targeting.hits.v1"
DLQ = "customs.declarations.dlq.v1"
AEO_REGISTRY = "customs.aeo.registry.v1"
WATCHLIST = "customs.watchlist.v1"
RULES = "customs.rules.v1"
EXAMINATION_RESULTS = "customs.examination.results.v1"
CASE_EVENTS = "customs.case.events.v1"
# Version 1.1: findings, requests and results for partner administrations, replicated to each
# partner by MirrorMaker 2; a partner's arrive as partner_inbound_topic(its alias).
C2C_OUTBOUND = "customs.c2c.outbound.v1"
# Not in the contract: the false watch-list matches officers cleared, which every worker
# applies (key: party key and entry id; a null value lifts the clearance).
WATCHLIST_CLEARANCES = "customs.watchlist.clearances.v1"
FILER_NOTICES = "customs.filer.notices.v1"
REFERRAL_RESPONSES = "customs.referral.responses.v1"
# Not in the contract: the filers' responses the workbench refused, with the reason's code.
REFERRAL_RESPONSES_DLQ = "customs.referral.responses.dlq.v1"
# Not in the contract: each worker's status (the rule set it screens with, the sets it refused),
# keyed by worker id; a null value when the worker stops cleanly (`screening rules status`).
WORKER_STATUS = "customs.worker.status.v1"
# Not in the contract: the latest outcome of every house filing, keyed by master number and
# declaration id, so that every worker sees the other houses of a master (consolidations.py).
CONSOLIDATIONS = "customs.consolidations.v1"
# Not in the contract: partners' messages that were not applied (they failed the contract, or
# the agreement does not accept them), with the reason; keyed by where each was read, so that
# the copies every worker writes compact to one.
C2C_INBOUND_DLQ = "customs.c2c.inbound.dlq.v1"

_WEEK_MS = str(7 * 24 * 3600 * 1000)
_MONTH_MS = str(30 * 24 * 3600 * 1000)
# The audit trail outlives Kafka's usual retention: seven years, as the case store keeps it.
_SEVEN_YEARS_MS = str((7 * 365 + 2) * 24 * 3600 * 1000)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    keyed_by: str
    config: dict[str, str] = field(default_factory=dict)
    # Reference topics are small; one partition keeps a full copy cheap to read in order.
    partitions: int | None = None

    def partition_count(self, default: int) -> int:
        return self.partitions or default


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        DECLARATIONS,
        "declaration_id",
        # Larger than the pipeline's own limit, so that an oversized declaration reaches the
        # worker and is rejected TOO_LARGE with a reason instead of failing at the filer.
        {"cleanup.policy": "delete", "retention.ms": _WEEK_MS, "max.message.bytes": "2097152"},
    ),
    TopicSpec(
        ASSESSMENTS,
        "declaration_id",
        {"cleanup.policy": "compact,delete", "retention.ms": _MONTH_MS},
    ),
    TopicSpec(
        HITS,
        "declaration_id",
        # A hit carries the declaration as received (at most the declarations topic's 2 MiB)
        # beside its matches and evidence: more than a broker's default 1 MB.
        {
            "cleanup.policy": "compact,delete",
            "retention.ms": _MONTH_MS,
            "max.message.bytes": "4194304",
        },
    ),
    TopicSpec(
        DLQ,
        "original key",
        # A rejection carries the original bytes in base64: up to 4/3 of the largest input.
        {"cleanup.policy": "delete", "retention.ms": _MONTH_MS, "max.message.bytes": "4194304"},
    ),
    TopicSpec(AEO_REGISTRY, "operator_id", {"cleanup.policy": "compact"}, partitions=1),
    TopicSpec(WATCHLIST, "entry_id", {"cleanup.policy": "compact"}, partitions=1),
    TopicSpec(RULES, "rule_id", {"cleanup.policy": "compact"}, partitions=1),
    TopicSpec(
        EXAMINATION_RESULTS,
        "declaration_id",
        {"cleanup.policy": "delete", "retention.ms": _MONTH_MS},
    ),
    TopicSpec(
        C2C_OUTBOUND,
        "ucr, else declaration_id",
        {"cleanup.policy": "delete", "retention.ms": _MONTH_MS},
    ),
    TopicSpec(
        CASE_EVENTS,
        "case id",
        {"cleanup.policy": "delete", "retention.ms": _SEVEN_YEARS_MS},
    ),
    TopicSpec(
        FILER_NOTICES,
        "filer_id",
        {"cleanup.policy": "delete", "retention.ms": _MONTH_MS},
    ),
    TopicSpec(
        REFERRAL_RESPONSES,
        "declaration_id",
        {"cleanup.policy": "delete", "retention.ms": _MONTH_MS},
    ),
    TopicSpec(
        REFERRAL_RESPONSES_DLQ,
        "original key",
        {"cleanup.policy": "delete", "retention.ms": _MONTH_MS, "max.message.bytes": "4194304"},
    ),
    TopicSpec(
        WATCHLIST_CLEARANCES, "party key and entry id", {"cleanup.policy": "compact"}, partitions=1
    ),
    # Compacted to each worker's last record; deleted after a week too, so that a worker gone
    # without its tombstone (killed, its host lost) leaves the listing in the end.
    TopicSpec(
        WORKER_STATUS,
        "worker id",
        {"cleanup.policy": "compact,delete", "retention.ms": _WEEK_MS},
        partitions=1,
    ),
    TopicSpec(
        C2C_INBOUND_DLQ,
        "source topic, partition and offset",
        {
            "cleanup.policy": "compact,delete",
            "retention.ms": _MONTH_MS,
            "max.message.bytes": "4194304",
        },
        partitions=1,
    ),
    # A master's houses are filed within days of each other; a month covers a voyage.
    TopicSpec(
        CONSOLIDATIONS,
        "master number and declaration id",
        {"cleanup.policy": "compact,delete", "retention.ms": _MONTH_MS},
        partitions=1,
    ),
)


def partner_inbound_topic(alias: str) -> str:
    """A partner's outbound topic as MirrorMaker 2's default replication policy names it here."""
    return f"{alias}.{C2C_OUTBOUND}"


def partner_aeo_topic(alias: str) -> str:
    """A partner's AEO registry, shared under a mutual recognition agreement, as MirrorMaker 2
    names it here."""
    return f"{alias}.{AEO_REGISTRY}"


def spec(name: str) -> TopicSpec:
    for topic in TOPICS:
        if topic.name == name:
            return topic
    raise KeyError(name)
