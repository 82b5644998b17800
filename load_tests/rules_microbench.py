"""Evaluation cost per declaration: the default rule set and 1,000 rules, on generated data.

    .venv/bin/python -m load_tests.rules_microbench [--count 20000] [--batch 1000]

No Kafka: this measures frame building and rule evaluation alone (the worker's `prepare`).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import msgspec

from load_tests.synthetic_rules import write_rule_folder
from pipeline.contract.models import Declaration
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.frames import build_frames
from pipeline.rules.loader import load_ruleset
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.screening.enrich import Enricher

ROOT = Path(__file__).resolve().parents[1]


def _declarations(count: int) -> list[Declaration]:
    generator = DeclarationGenerator(GeneratorConfig(seed=11, risky_share=0.1))
    decoder = msgspec.json.Decoder(Declaration)
    found = []
    for message in generator.messages(count):
        if message.kind in ("FILING", "AMENDMENT"):
            found.append(decoder.decode(message.value))
    return found


def _measure(evaluator: RuleEvaluator, declarations: list[Declaration], batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(declarations), batch):
        evaluator.evaluate_declarations(declarations[start : start + batch])
    return (time.perf_counter() - started) / len(declarations) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    declarations = _declarations(args.count)
    enriched = Enricher().enrich(declarations)
    frames_started = time.perf_counter()
    for start in range(0, len(enriched), args.batch):
        build_frames(enriched[start : start + args.batch])
    frames_us = (time.perf_counter() - frames_started) / len(declarations) * 1e6
    print(f"{len(declarations)} declarations, batches of {args.batch}")
    print(f"  frames only:              {frames_us:8.1f} µs per declaration")
    default = load_ruleset(ROOT / "rules")
    evaluator = RuleEvaluator(CompiledRuleSet(default))
    _measure(evaluator, declarations[: args.batch], args.batch)  # warm up
    cost = _measure(evaluator, declarations, args.batch)
    print(f"  default set ({len(default):4d} rules): {cost:8.1f} µs per declaration")
    with tempfile.TemporaryDirectory() as folder:
        big = load_ruleset(write_rule_folder(ROOT / "rules", Path(folder) / "rules", 1000))
        started = time.perf_counter()
        compiled = CompiledRuleSet(big)
        compile_s = time.perf_counter() - started
        evaluator = RuleEvaluator(compiled)
        _measure(evaluator, declarations[: args.batch], args.batch)
        cost = _measure(evaluator, declarations, args.batch)
        print(f"  {len(big)} rules:               {cost:8.1f} µs per declaration")
        print(f"  compiling {len(big)} rules:      {compile_s:8.2f} s")


if __name__ == "__main__":
    main()
