"""The screening code's cost per declaration, stage by stage, without Kafka: what the worker's
``prepare`` does to a batch of raw records (decode, enrich, build frames, evaluate), and what its
``finish`` does after (version bookkeeping, assessments, notices and hits encoded).

    .venv/bin/python -m load_tests.prepare_microbench [--count 20000] [--batch 1000]

The input is the benchmark's (generated, fixed seed); the reference data is 100,000 synthetic
AEO records and 10,000 watch-list entries; the garbage collector is set as in the worker. Each
stage is timed over the whole input in batches, three times; the lowest of the three is printed
(the others are noise from the machine). For A/B comparisons of the screening code: run it
before and after a change, on the same machine, alternately, several times.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from load_tests.args import OneLineParser, positive_int
from load_tests.reference_microbench import _aeo_records, _watchlist_entries
from pipeline.contract.models import Declaration
from pipeline.records import InputRecord
from pipeline.reference.aeo import AeoRegistry
from pipeline.reference.parties import ReferenceData
from pipeline.reference.watchlist import Watchlist
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.screening.batch import Screener
from pipeline.screening.decode import decode_declaration
from pipeline.screening.ledger import DictLedger
from pipeline.worker.memory import settle_long_lived_objects

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 1_048_576
REPEATS = 3


def _records(count: int) -> list[InputRecord]:
    generator = DeclarationGenerator(GeneratorConfig(seed=42, risky_share=0.05))
    return [
        InputRecord("customs.declarations.v1", m.key, m.value, 0, offset, None)
        for offset, m in enumerate(generator.messages(count))
    ]


def _reference() -> ReferenceData:
    rng = random.Random(3)
    registry = AeoRegistry()
    for record in _aeo_records(100_000, rng):
        registry.put(record)
    watchlist = Watchlist()
    for entry in _watchlist_entries(10_000, rng):
        watchlist.put(entry)
    return ReferenceData(registry, watchlist)


def _best_us(stage: Callable[[Sequence[Any]], Any], items: Sequence[Any], batch: int) -> float:
    """Microseconds per item, the lowest of ``REPEATS`` passes over ``items``."""
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        for start in range(0, len(items), batch):
            stage(items[start : start + batch])
        best = min(best, time.perf_counter() - started)
    return best / len(items) * 1e6


def measure(count: int, batch: int) -> dict[str, float]:
    records = _records(count)
    evaluator = RuleEvaluator(CompiledRuleSet(load_ruleset(ROOT / "rules")), _reference())
    screener = Screener(evaluator, max_message_bytes=MAX_BYTES)
    decoded = [decode_declaration(r.value, MAX_BYTES) for r in records]
    declarations = [
        d for d in decoded if isinstance(d, Declaration) and d.message_type != "INVALIDATION"
    ]
    enriched = evaluator.enrich(declarations)
    settle_long_lived_objects()  # as the worker does once its reference data is loaded
    scale = len(declarations) / len(records)  # stages after decoding see fewer items
    return {
        "decode": _best_us(
            lambda rs: [decode_declaration(r.value, MAX_BYTES) for r in rs], records, batch
        ),
        "enrich": _best_us(evaluator.enrich, declarations, batch) * scale,
        "frames": _best_us(evaluator.compiled.frames_of, enriched, batch) * scale,
        "evaluate (frames included)": _best_us(evaluator.evaluate, enriched, batch) * scale,
        "prepare (all of it)": _best_us(screener.prepare, records, batch),
        "finish (versions, outputs)": _finish_us(screener, records, batch),
    }


def _finish_us(screener: Screener, records: Sequence[InputRecord], batch: int) -> float:
    """``finish`` of prepared batches, into an empty version ledger each pass."""
    prepared = [screener.prepare(records[s : s + batch]) for s in range(0, len(records), batch)]
    best = float("inf")
    for _ in range(REPEATS):
        ledger = DictLedger()
        started = time.perf_counter()
        for one in prepared:
            screener.finish(one, ledger)
        best = min(best, time.perf_counter() - started)
    return best / len(records) * 1e6


def main() -> None:
    parser = OneLineParser(prog="prepare_microbench", description=__doc__)
    parser.add_argument("--count", type=positive_int, default=20_000)
    parser.add_argument("--batch", type=positive_int, default=1000)
    args = parser.parse_args()
    found = measure(args.count, args.batch)
    print(f"{args.count:,} records, batches of {args.batch}; µs per record:")
    for stage, us in found.items():
        print(f"  {stage:28s} {us:7.1f}")


if __name__ == "__main__":
    main()
