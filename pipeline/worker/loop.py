"""The worker's one batch loop: fetched records to a handler, its outputs through the
checkpoint, then the next batch.

Screening declarations and joining examination feedback are two handlers of it. A handler
turns records into outputs and table writes (it produces nothing itself); the checkpoint stores
them and lets the offsets be committed (``checkpoint``); the whole of it runs to its end or
stops the worker (``all_or_nothing``). What the handler reports (metrics, logs) is reported
once the batch is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import faust

from pipeline.records import InputRecord, OutputRecord
from pipeline.worker.all_or_nothing import run_batch
from pipeline.worker.checkpoint import Checkpoint
from pipeline.worker.faust_adapter import BatchMessage, take_batches

__all__ = ["BatchHandler", "Batching", "Handled", "add_batch_agent", "handle_batch"]


@dataclass(frozen=True, slots=True)
class Handled:
    outputs: Sequence[OutputRecord]
    # Called with the batch's seconds from fetch to stored, once it is stored.
    report: Callable[[float], None] = lambda elapsed_s: None


class BatchHandler(Protocol):
    @property
    def what(self) -> str:
        """What a batch is, for the message if one fails ("screening a batch")."""
        ...

    async def handle(self, records: Sequence[InputRecord]) -> Handled: ...


@dataclass(frozen=True, slots=True)
class Batching:
    max_events: int  # fetched partition batches taken at once
    within_s: float  # how long to wait for more before handling what came


def records_of(fetched: Sequence[BatchMessage]) -> list[InputRecord]:
    return [
        InputRecord(r.topic, r.key, r.value, r.partition, r.offset, r.timestamp)
        for message in fetched
        for r in message.records
    ]


async def handle_batch(
    fetched: Sequence[BatchMessage], handler: BatchHandler, checkpoint: Checkpoint
) -> None:
    started = time.perf_counter()

    async def handle_and_store() -> Handled:
        handled = await handler.handle(records_of(fetched))
        await checkpoint.commit(handled.outputs, fetched)
        return handled

    handled = await run_batch(handle_and_store(), handler.what)
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
        async for fetched in take_batches(stream, batching.max_events, batching.within_s):
            await handle_batch(fetched, handler, checkpoint)

    app.agent(source, name=name, concurrency=1)(loop)
