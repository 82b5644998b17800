"""The commit sequence of one batch, owned by one object.

A batch's offsets may be committed only when everything the batch caused is stored in Kafka.
``Checkpoint.send`` takes steps 1 and 2, ``Checkpoint.confirm`` the others, in this order:

1. the batch's outputs are produced;
2. the tables' writes of the batch go to their databases, and their changelog records are
   produced;
3. the producer is flushed: Kafka has acknowledged every record of 1 and 2;
4. each table records the changelog offsets it now holds (Faust's recovery reads on from there);
5. the batch's fetched messages are marked handled: the consumer acknowledges their offsets
   (``transport``), and Faust commits them on its next commit.

If a step fails, the later ones do not happen: the messages stay unhandled, the worker stops
(``all_or_nothing``), and the batch is handled again after the restart. Handling a batch again
is harmless: outputs are keyed and idempotent, and the tables give the same answers.

Between ``send`` and ``confirm`` the next batch may be handled, not sent: its table writes stay
in memory until a ``send`` drains them, so the changelog offsets step 4 records cover every
write in the databases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from pipeline.records import OutputRecord

__all__ = ["Checkpoint"]


class Producer(Protocol):
    def produce(self, records: Iterable[OutputRecord]) -> None: ...

    async def flush(self) -> None: ...

    def delivered_offsets(self, topic: str) -> dict[int, int]: ...


class Table(Protocol):
    @property
    def changelog(self) -> str: ...

    def drain(self) -> list[OutputRecord]: ...

    def persisted(self, offsets: Mapping[int, int]) -> None: ...


class Fetched(Protocol):
    """A fetched batch of records, marked handled once its outputs are stored."""

    handled: bool


class Checkpoint:
    def __init__(self, producer: Producer, tables: Sequence[Table]) -> None:
        # The producer keeps the delivered offsets of these tables' changelogs.
        self._producer = producer
        self._tables = tuple(tables)

    async def commit(self, outputs: Iterable[OutputRecord], fetched: Sequence[Fetched]) -> None:
        """The whole sequence for one batch, with nothing handled in between."""
        self.send(outputs)
        await self.confirm(fetched)

    def send(self, outputs: Iterable[OutputRecord]) -> None:
        """Steps 1 and 2: the batch's outputs and table writes are on their way to Kafka."""
        self._producer.produce(outputs)
        for table in self._tables:
            self._producer.produce(table.drain())

    async def confirm(self, fetched: Sequence[Fetched]) -> None:
        """Steps 3 to 5, for the batch sent last."""
        await self._producer.flush()
        for table in self._tables:
            table.persisted(self._producer.delivered_offsets(table.changelog))
        for message in fetched:
            message.handled = True
