"""Bytes per record on each topic for the benchmark's input, for broker sizing.

The benchmark's declarations (same generator, seed and risky share) are screened offline with
the default rules; the sizes are key plus value, before compression, and the lz4 ratio is for
blocks of 2,000 values, as a producer batch might hold. No broker needed:

    python -m load_tests.message_sizes [--count N]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import cramjam
import orjson

from load_tests.bench import INPUT_SEED
from pipeline import topics
from pipeline.records import InputRecord
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.screening.batch import Screener
from pipeline.screening.ledger import DictLedger
from pipeline.screening.versions import VersionState

ROOT = Path(__file__).resolve().parents[1]
BLOCK = 2000
CHANGELOG = "customs-screening-declaration-versions-changelog"


def measure(count: int) -> dict[str, dict[str, float]]:
    generator = DeclarationGenerator(GeneratorConfig(seed=INPUT_SEED, risky_share=0.05))
    messages = list(generator.messages(count))
    screener = Screener(
        RuleEvaluator(CompiledRuleSet(load_ruleset(ROOT / "rules"))), max_message_bytes=1 << 20
    )
    records = [
        InputRecord(topics.DECLARATIONS, m.key, m.value, 0, offset)
        for offset, m in enumerate(messages)
    ]
    result = screener.screen(records, DictLedger())
    values: dict[str, list[bytes]] = defaultdict(list)
    sizes: dict[str, list[int]] = defaultdict(list)
    for record in records:
        values[record.topic].append(record.value or b"")
        sizes[record.topic].append(len(record.key or b"") + len(record.value or b""))
    for output in result.outputs:
        values[output.topic].append(output.value or b"")
        sizes[output.topic].append(len(output.key or b"") + len(output.value or b""))
    # The version table's changelog: one record per declaration version, as TableLedger writes.
    for record in records:
        key = orjson.dumps((record.key or b"").decode())
        value = orjson.dumps(VersionState((1,)).to_json())
        sizes[CHANGELOG].append(len(key) + len(value))
        values[CHANGELOG].append(value)
    report = {}
    for topic, topic_sizes in sizes.items():
        block = b"".join(values[topic][:BLOCK])
        report[topic] = {
            "records_per_declaration": round(len(topic_sizes) / count, 4),
            "mean_bytes": round(sum(topic_sizes) / len(topic_sizes)),
            "max_bytes": max(topic_sizes),
            "lz4_ratio": round(len(block) / max(1, len(bytes(cramjam.lz4.compress(block)))), 1),
        }
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.count), indent=2))


if __name__ == "__main__":
    main()
