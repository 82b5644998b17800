"""One batch through the screening functions and out to Kafka, all or nothing.

Faust acknowledges a batch's events when the agent leaves them, whatever the reason, and
commits acknowledged offsets on its next commit, on a rebalance and on shutdown. So a batch, once
started, is finished even if the agent is cancelled meanwhile; and if it fails, the process
stops before anything is acknowledged, so that the batch is screened again after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from typing import NoReturn

from pipeline import metrics
from pipeline.kafka.producer import OutputProducer
from pipeline.rules.source import RuleSetHolder
from pipeline.screening.batch import BatchResult, InputRecord, Screener
from pipeline.worker.lag import LagMonitor
from pipeline.worker.ledger import TableLedger
from pipeline.worker.startup import EvaluatorCache

# EX_SOFTWARE: a supervisor (systemd, Kubernetes) restarts the worker, which screens the
# uncommitted batch again.
EXIT_BATCH_FAILED = 70
log = logging.getLogger(__name__)


class BatchHandler:
    def __init__(
        self,
        screener: Screener,
        ledger: TableLedger,
        producer: OutputProducer,
        rules: RuleSetHolder,
        evaluators: EvaluatorCache,
        lag: LagMonitor | None = None,
    ) -> None:
        self._screener = screener
        self._ledger = ledger
        self._producer = producer
        self._rules = rules
        self._evaluators = evaluators
        self._lag = lag  # None when metrics are off

    async def handle(self, records: Sequence[InputRecord]) -> None:
        started = time.perf_counter()
        work = asyncio.ensure_future(self._screen(records))
        try:
            result = await asyncio.shield(work)
        except asyncio.CancelledError:
            await self._finish_anyway(work)
            raise
        except Exception:
            _fail_stop("screening a batch failed; stopping so that it is screened again")
        if self._lag is not None:
            self._lag.screened(records)
            now = time.time()
            latencies = {
                "kafka_timestamp": [
                    now - r.timestamp_ms / 1000 for r in records if r.timestamp_ms is not None
                ],
                "submitted_at": [now - submitted for submitted in result.submitted_at_s],
            }
            metrics.record_batch(
                len(records), result, time.perf_counter() - started, now, latencies
            )

    async def _screen(self, records: Sequence[InputRecord]) -> BatchResult:
        # A rule set published meanwhile applies from this batch on.
        self._screener.evaluator = self._evaluators.for_ruleset(self._rules.current)
        # Polars releases the GIL: evaluating in a thread keeps Faust's timers on time.
        prepared = await asyncio.to_thread(self._screener.prepare, records)
        result = self._screener.finish(prepared, self._ledger)
        self._producer.produce(result.outputs)
        self._producer.produce(self._ledger.drain())
        await self._producer.flush()
        return result

    @staticmethod
    async def _finish_anyway(work: asyncio.Future[BatchResult]) -> None:
        try:
            await work
        except Exception:
            _fail_stop("a batch failed while the worker was stopping; it will be screened again")


def _fail_stop(message: str) -> NoReturn:
    log.critical(message, exc_info=True)
    logging.shutdown()
    os._exit(EXIT_BATCH_FAILED)
