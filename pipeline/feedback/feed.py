"""Records from the assessments and examination results topics through the join.

``screening rules effectiveness`` calls ``feed`` with both topics and a dict behind the store;
the worker with the examination results, the assessments other workers handed on to it
(``worker.screened_join``) and its Faust table. Every record not of the examination results
topic is read as an assessment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from pipeline import topics
from pipeline.feedback.decode import decode_assessment, decode_examination
from pipeline.feedback.join import (
    JoinEntry,
    apply_assessment,
    apply_examination,
    entry_key,
)
from pipeline.feedback.stats import Tally
from pipeline.records import InputRecord

__all__ = ["DictJoinStore", "FeedResult", "feed"]

# An examination result that cannot count yet, or will not count: worth a log line each.
_NOTICED = frozenset({"examination_waiting", "examination_conflict"})


class JoinStore(Protocol):
    """Join entries by ``entry_key``. ``partition`` and ``timestamp_ms`` are the source
    record's: where a changelog keeps the entry, and from when it may expire."""

    def get(self, key: str, partition: int) -> JoinEntry | None: ...

    def put(self, key: str, partition: int, entry: JoinEntry, timestamp_ms: int | None) -> None: ...


class DictJoinStore:
    def __init__(self) -> None:
        self.entries: dict[str, JoinEntry] = {}

    def get(self, key: str, partition: int) -> JoinEntry | None:
        return self.entries.get(key)

    def put(self, key: str, partition: int, entry: JoinEntry, timestamp_ms: int | None) -> None:
        self.entries[key] = entry


@dataclass(frozen=True, slots=True)
class Notice:
    """Something an operator should hear of, named by ids and positions, never by payload."""

    kind: str  # examination_waiting, examination_conflict, examination_malformed
    where: str  # declaration_id/version, or topic[partition]@offset for an unreadable record
    detail: str = ""


@dataclass(slots=True)
class FeedResult:
    tally: Tally = field(default_factory=Tally)
    notices: list[Notice] = field(default_factory=list)
    malformed: int = 0  # examination results that are not valid ExaminationResults
    unreadable_assessments: int = 0


def feed(records: Iterable[InputRecord], store: JoinStore) -> FeedResult:
    result = FeedResult()
    tally = result.tally
    for record in records:
        if record.topic == topics.EXAMINATION_RESULTS:
            examined = decode_examination(record.key, record.value)
            if isinstance(examined, str):
                result.malformed += 1
                where = f"{record.topic}[{record.partition}]@{record.offset}"
                result.notices.append(Notice("examination_malformed", where, examined))
                continue
            key = entry_key(examined.declaration_id, examined.version)
            updated, event = apply_examination(store.get(key, record.partition), examined, tally)
            if event in _NOTICED:
                result.notices.append(Notice(event, key, examined.result))
        else:
            assessed = decode_assessment(record.value)
            if assessed is None:
                # A tombstone, or a record the pipeline did not write: nothing to join.
                result.unreadable_assessments += record.value is not None
                continue
            key = entry_key(assessed.declaration_id, assessed.version)
            updated, _ = apply_assessment(store.get(key, record.partition), assessed, tally)
        if updated is not None:
            store.put(key, record.partition, updated, record.timestamp_ms)
    return result
