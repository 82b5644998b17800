"""A screening batch's assessments into the examination join, on the worker that screened them.

Declarations, assessments and examination results are all keyed by declaration id and have the
worker's partition count. A declaration filed with Kafka's default partitioner is in the
partition its id hashes to, where its assessment and its examination results are too, and that
partition of the join table is the screening worker's own: the assessment joins there, in the
screening batch, and its entry is stored with the version table's writes by the same checkpoint.
Reading its own assessments back off their topic instead cost the worker an eighth of its CPU.

A declaration put in another partition (a producer with librdkafka's default partitioner, or an
explicit partition) is screened where it is, but its examination results go to the owner of the
partition its id hashes to. The join's facts of its assessment follow them there, on the
worker's own topic (``handoff_topic``), keyed by declaration id, and the feedback loop joins
them as it did the assessments.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.contract.models import Assessment
from pipeline.feedback.decode import assessed_of, assessment_facts
from pipeline.feedback.join import apply_assessment, entry_key
from pipeline.feedback.stats import Tally
from pipeline.kafka.partitioning import default_partitions
from pipeline.records import InputRecord, OutputRecord
from pipeline.worker.join_table import TableJoinStore

__all__ = ["Joined", "ScreenedJoin", "handoff_topic"]


def handoff_topic(app_id: str) -> str:
    """The worker group's topic for the assessments of declarations screened outside their
    key's partition; under the group's prefix, like its tables' changelogs."""
    return f"{app_id}-examination-join-assessments"


@dataclass(slots=True)
class Joined:
    tally: Tally = field(default_factory=Tally)  # what the joins here added
    handed_on: list[OutputRecord] = field(default_factory=list)  # to be joined elsewhere


class ScreenedJoin:
    def __init__(self, store: TableJoinStore, partitions: int, handoff: str) -> None:
        self._store = store
        self._partitions = partitions
        self._handoff = handoff

    def join(self, assessed: Sequence[tuple[InputRecord, Assessment]]) -> Joined:
        """Join each assessment where its declaration was screened, or hand it on."""
        joined = Joined()
        now_ms = int(time.time() * 1000)
        keys = [assessment.declaration_id.encode() for _, assessment in assessed]
        placed = default_partitions(keys, self._partitions)
        for (record, assessment), key_bytes, partition in zip(assessed, keys, placed, strict=True):
            declaration_id = assessment.declaration_id
            if record.partition != partition:
                joined.handed_on.append(
                    OutputRecord(self._handoff, key_bytes, assessment_facts(assessment))
                )
                continue
            key = entry_key(declaration_id, assessment.version)
            updated, _ = apply_assessment(
                self._store.get(key, record.partition), assessed_of(assessment), joined.tally
            )
            if updated is not None:
                self._store.put(key, record.partition, updated, now_ms)
        return joined
