"""The worker's one batch loop: fetched records to a handler, its outputs through the
checkpoint, and the next batch handled while the last one's are being stored.

Screening declarations and joining examination feedback are two handlers of it. A handler
turns records into outputs and table writes (it produces nothing itself); the checkpoint stores
them and lets the offsets be committed (``checkpoint``); each step runs to its end or stops the
worker (``all_or_nothing``). What the handler reports (metrics, logs) is reported once the batch
is stored.

Storing a batch is mostly waiting for Kafka to acknowledge it (the producer's flush). The loop
hands the next batch to the handler during that wait, and sends its outputs only once the last
batch is stored: at most one batch is in flight, outputs go out in batch order, and a batch is
acknowledged to Faust (its offsets may be committed) only when stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import faust

from pipeline.records import InputRecord, OutputRecord
from pipeline.worker.all_or_nothing import run_batch
from pipeline.worker.checkpoint import Checkpoint
from pipeline.worker.faust_adapter import BatchMessage, take_batches

__all__ = ["BatchHandler", "BatchLoop", "Batching", "Handled", "TakenBatch", "add_batch_agent"]


@dataclass(frozen=True, slots=True)
class Handled:
    outputs: Sequence[OutputRecord]
    # Called with the batch's seconds from taken to stored, once it is stored.
    report: Callable[[float], None] = lambda elapsed_s: None


class BatchHandler(Protocol):
    @property
    def what(self) -> str:
        """What a batch is, for the message if one fails ("screening a batch")."""
        ...

    async def handle(self, records: Sequence[InputRecord]) -> Handled: ...


class TakenBatch(Protocol):
    """Fetched partition batches taken at once, acknowledged once stored."""

    @property
    def messages(self) -> Sequence[BatchMessage]: ...

    async def ack(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Batching:
    max_events: int  # fetched partition batches taken at once
    linger_s: float  # how long a batch waits for more after its first arrived


def records_of(fetched: Sequence[BatchMessage]) -> list[InputRecord]:
    return [
        InputRecord(r.topic, r.key, r.value, r.partition, r.offset, r.timestamp)
        for message in fetched
        for r in message.records
    ]


class BatchLoop:
    """Handles each batch while the one before is stored."""

    def __init__(self, handler: BatchHandler, checkpoint: Checkpoint) -> None:
        self._handler = handler
        self._checkpoint = checkpoint
        self._storing: asyncio.Future[None] | None = None

    async def step(self, taken: TakenBatch) -> None:
        """Handle ``taken``, wait for the batch before it to be stored, send its outputs and
        start storing them. Run it whole (``run_batch``)."""
        started = time.perf_counter()
        handled = await self._handler.handle(records_of(taken.messages))
        await self.stored()
        self._checkpoint.send(handled.outputs)
        storing = self._store(taken, handled, started)
        self._storing = asyncio.ensure_future(run_batch(storing, self._handler.what))

    async def stored(self) -> None:
        """Returns once the last batch sent is stored and acknowledged."""
        if self._storing is not None:
            await self._storing
            self._storing = None

    async def _store(self, taken: TakenBatch, handled: Handled, started: float) -> None:
        await self._checkpoint.confirm(taken.messages)
        await taken.ack()
        handled.report(time.perf_counter() - started)


def add_batch_agent(
    app: faust.App,
    source: faust.TopicT,
    name: str,
    handler: BatchHandler,
    checkpoint: Checkpoint,
    batching: Batching,
) -> None:
    """An agent on ``source`` (topics the worker's consumer batches) running the loop."""

    async def loop(stream: faust.StreamT[bytes]) -> None:
        batches = BatchLoop(handler, checkpoint)
        try:
            async for taken in take_batches(stream, batching.max_events, batching.linger_s):
                await run_batch(batches.step(taken), handler.what)
        finally:
            await batches.stored()

    app.agent(source, name=name, concurrency=1)(loop)
