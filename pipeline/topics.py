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

_WEEK_MS = str(7 * 24 * 3600 * 1000)
_MONTH_MS = str(30 * 24 * 3600 * 1000)


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
        {"cleanup.policy": "compact,delete", "retention.ms": _MONTH_MS},
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
)


def spec(name: str) -> TopicSpec:
    for topic in TOPICS:
        if topic.name == name:
            return topic
    raise KeyError(name)
