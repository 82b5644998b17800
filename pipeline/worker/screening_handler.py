"""The screening handler of the batch loop (``loop``): declarations in; outputs, version table
writes and the examination join's entries out; metrics once the batch is stored."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence

from pipeline import metrics
from pipeline.records import InputRecord
from pipeline.rules.source import RuleSetHolder
from pipeline.screening.batch import BatchResult, Prepared, Screener
from pipeline.worker.lag import LagMonitor
from pipeline.worker.ledger import TableLedger
from pipeline.worker.loop import Handled
from pipeline.worker.screened_join import Joined, ScreenedJoin
from pipeline.worker.startup import EvaluatorCache

log = logging.getLogger(__name__)

# Batches up to this size (a quarter of a second of work) are prepared on the event loop.
INLINE_BATCH_MAX = 1000


class ScreeningHandler:
    what = "screening a batch"

    def __init__(
        self,
        screener: Screener,
        ledger: TableLedger,
        rules: RuleSetHolder,
        evaluators: EvaluatorCache,
        join: ScreenedJoin,
        lag: LagMonitor | None = None,
        on_screened: Callable[[], None] = lambda: None,
    ) -> None:
        self._screener = screener
        self._ledger = ledger
        self._rules = rules
        self._evaluators = evaluators
        self._join = join
        self._lag = lag  # None when metrics are off
        self._on_screened = on_screened

    async def handle(self, records: Sequence[InputRecord]) -> Handled:
        # A rule set published meanwhile applies from this batch on.
        self._screener.evaluator = self._evaluators.for_ruleset(self._rules.current)
        prepared = await self._prepare(records)
        result = self._screener.finish(prepared, self._ledger)
        joined = self._join.join(result.assessed)
        outputs = result.outputs + joined.handed_on if joined.handed_on else result.outputs
        return Handled(outputs, functools.partial(self._report, records, result, joined))

    async def _prepare(self, records: Sequence[InputRecord]) -> Prepared:
        if len(records) <= INLINE_BATCH_MAX:
            # Decoding and building frames is Python that holds the GIL. In a thread it would
            # trade the GIL with the event loop every few milliseconds, and a small batch,
            # which is what a worker that keeps up gets, would take several times longer.
            return self._screener.prepare(records)
        # A backlog's batch of thousands takes up to a second: in a thread, Faust's timers,
        # heartbeats and fetches keep running while Polars evaluates it without the GIL.
        return await asyncio.to_thread(self._screener.prepare, records)

    def _report(
        self,
        records: Sequence[InputRecord],
        result: BatchResult,
        joined: Joined,
        elapsed_s: float,
    ) -> None:
        self._on_screened()
        if result.reissue_unavailable:
            log.warning(
                "%d versions arrived after a newer one whose assessment the version table does "
                "not keep (written before it was kept, or too large): the compacted assessments "
                "topic ends with the older version's for those keys",
                result.reissue_unavailable,
            )
        if self._lag is None:
            return
        metrics.record_feedback(joined.tally, malformed=0)
        self._lag.screened(records)
        now = time.time()
        latencies = {
            "kafka_timestamp": [
                now - r.timestamp_ms / 1000 for r in records if r.timestamp_ms is not None
            ],
            "submitted_at": [now - submitted for submitted in result.submitted_at_s],
        }
        metrics.record_batch(len(records), result, elapsed_s, now, latencies)
