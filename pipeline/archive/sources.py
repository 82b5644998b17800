"""Which topics the archive keeps, and what it decodes of each kind of record."""

from __future__ import annotations

from typing import Literal

from pipeline import topics

__all__ = ["ARCHIVED_TOPICS", "ARCHIVE_GROUP", "DEAD_LETTER_TOPICS", "kind_of", "subscription"]

# The archiver's consumer group; its Kafka role (pipeline/kafka/acls.py) reads in it.
ARCHIVE_GROUP = "screening-archive"

Kind = Literal["declaration", "assessment", "hit", "dead_letter", "examination", "partner_message"]

# Every dead-letter topic of the table: a rejection is evidence of what was not screened.
DEAD_LETTER_TOPICS: tuple[str, ...] = tuple(t.name for t in topics.TOPICS if ".dlq." in t.name)

ARCHIVED_TOPICS: tuple[str, ...] = (
    # The backtest screens declarations again: months of them are only here.
    topics.DECLARATIONS,
    topics.ASSESSMENTS,
    topics.HITS,
    *DEAD_LETTER_TOPICS,
    # The SAFE report joins examination results and counts partner messages.
    topics.EXAMINATION_RESULTS,
    topics.C2C_OUTBOUND,
)

# Partners' messages as MirrorMaker 2 names them here (librdkafka subscribes by regex when a
# name starts with ^); the same pattern as pipeline.feedback.safe.PARTNER_TOPIC.
PARTNER_TOPIC_PATTERN = r"^[a-z0-9-]+\.customs\.c2c\.outbound\.v1$"


def subscription() -> list[str]:
    return [*ARCHIVED_TOPICS, PARTNER_TOPIC_PATTERN]


def kind_of(topic: str) -> Kind:
    if topic == topics.DECLARATIONS:
        return "declaration"
    if topic == topics.ASSESSMENTS:
        return "assessment"
    if topic == topics.HITS:
        return "hit"
    if topic == topics.EXAMINATION_RESULTS:
        return "examination"
    if topic in DEAD_LETTER_TOPICS or ".dlq." in topic:
        return "dead_letter"
    return "partner_message"
