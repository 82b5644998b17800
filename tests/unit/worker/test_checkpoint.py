"""The commit sequence: outputs, changelogs, acknowledgements, store offsets, then offsets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pytest

from pipeline.errors import DeliveryFailed
from pipeline.records import OutputRecord
from pipeline.worker.checkpoint import Checkpoint


@dataclass
class Fetched:
    handled: bool = False


@dataclass
class Journal:
    steps: list[str] = field(default_factory=list)


class FakeProducer:
    def __init__(self, journal: Journal, fail_flush: bool = False) -> None:
        self.journal = journal
        self.fail_flush = fail_flush
        self.pending: list[OutputRecord] = []
        self.acknowledged: dict[str, dict[int, int]] = {}

    def produce(self, records: Iterable[OutputRecord]) -> None:
        for record in records:
            self.journal.steps.append(f"produce {record.topic}")
            self.pending.append(record)

    async def flush(self) -> None:
        self.journal.steps.append("flush")
        if self.fail_flush:
            raise DeliveryFailed("outputs not delivered: broker gone")
        for offset, record in enumerate(self.pending):
            assert record.partition is not None or record.topic == "outputs"
            if record.partition is not None:
                self.acknowledged.setdefault(record.topic, {})[record.partition] = offset
        self.pending.clear()

    def delivered_offsets(self, topic: str) -> dict[int, int]:
        return self.acknowledged.pop(topic, {})


class FakeTable:
    def __init__(self, journal: Journal, changelog: str, writes: int) -> None:
        self.journal = journal
        self._changelog = changelog
        self.writes = writes
        self.persisted_offsets: dict[int, int] = {}

    @property
    def changelog(self) -> str:
        return self._changelog

    def drain(self) -> list[OutputRecord]:
        self.journal.steps.append(f"drain {self._changelog}")
        drained = [OutputRecord(self._changelog, b"k", b"v", p) for p in range(self.writes)]
        self.writes = 0
        return drained

    def persisted(self, offsets: Mapping[int, int]) -> None:
        self.journal.steps.append(f"persisted {self._changelog} {dict(offsets)}")
        self.persisted_offsets.update(offsets)


def test_outputs_then_changelogs_then_acknowledgements_then_store_offsets_then_handled() -> None:
    journal = Journal()
    producer, table = FakeProducer(journal), FakeTable(journal, "versions-changelog", writes=2)

    class Watched(Fetched):
        def __setattr__(self, name: str, value: object) -> None:
            if name == "handled" and value:
                journal.steps.append("handled")
            super().__setattr__(name, value)

    fetched = [Watched(), Watched()]
    outputs = [OutputRecord("outputs", b"D-1", b"{}"), OutputRecord("outputs", b"D-2", b"{}")]
    asyncio.run(Checkpoint(producer, [table]).commit(outputs, fetched))
    assert journal.steps == [
        "produce outputs",
        "produce outputs",
        "drain versions-changelog",
        "produce versions-changelog",
        "produce versions-changelog",
        "flush",
        "persisted versions-changelog {0: 2, 1: 3}",
        "handled",
        "handled",
    ]
    assert all(message.handled for message in fetched)


def test_a_failed_flush_leaves_the_batch_unhandled_and_the_store_offsets_unmoved() -> None:
    journal = Journal()
    producer = FakeProducer(journal, fail_flush=True)
    table = FakeTable(journal, "joins-changelog", writes=1)
    fetched = [Fetched()]
    with pytest.raises(DeliveryFailed):
        asyncio.run(Checkpoint(producer, [table]).commit([], fetched))
    assert not fetched[0].handled
    assert table.persisted_offsets == {}
    assert "persisted" not in " ".join(journal.steps)


def test_each_table_takes_only_its_own_changelog_offsets() -> None:
    journal = Journal()
    producer = FakeProducer(journal)
    versions = FakeTable(journal, "versions-changelog", writes=1)
    joins = FakeTable(journal, "joins-changelog", writes=2)
    asyncio.run(Checkpoint(producer, [versions, joins]).commit([], [Fetched()]))
    assert versions.persisted_offsets == {0: 0}
    assert joins.persisted_offsets == {0: 1, 1: 2}


def test_a_batch_without_outputs_or_writes_is_still_flushed_before_it_is_handled() -> None:
    journal = Journal()
    fetched = [Fetched()]
    asyncio.run(Checkpoint(FakeProducer(journal), []).commit([], fetched))
    assert journal.steps == ["flush"]
    assert fetched[0].handled
