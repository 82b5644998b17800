"""Reference data at scale: 1,000,000 AEO records and 100,000 watch-list entries in memory.

    .venv/bin/python -m load_tests.reference_microbench [--aeo 1000000] [--watchlist 100000]

Reports the time to build each copy (what a worker does at start, after reading the topic),
the memory it takes, and the rule evaluation cost per declaration with and without it. No
Kafka: reading the topics is measured by the benchmark.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from datetime import date
from pathlib import Path

import msgspec

from load_tests.rules_microbench import _declarations, _measure
from pipeline.contract.models import AeoRecord, PartyId, WatchlistEntry
from pipeline.reference.aeo import AeoRegistry
from pipeline.reference.parties import ReferenceData
from pipeline.reference.watchlist import Watchlist
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig

ROOT = Path(__file__).resolve().parents[1]
_COUNTRIES = ["DE", "FR", "NL", "BE", "IT", "ES", "PL", "SE", "DK", "AT", "IE", "PT", "CZ"]
_WORDS = [
    "Holding",
    "Group",
    "International",
    "Trading",
    "Shipping",
    "Marine",
    "Petroleum",
    "Bank",
    "Investment",
    "Industrial",
    "Development",
    "Energy",
    "Logistics",
    "Construction",
    "Mining",
    "Exchange",
    "Services",
    "Technical",
    "Supply",
    "General",
    "Commercial",
    "Aviation",
    "Chemical",
    "Steel",
    "Oil",
    "Gas",
    "Trade",
    "Finance",
    "Insurance",
    "Engineering",
    "Resources",
    "Northern",
    "Eastern",
    "Golden",
    "Pacific",
    "Atlantic",
    "Silk",
    "Road",
    "Star",
    "Crescent",
    "Falcon",
    "Eagle",
    "Lotus",
    "Cedar",
]
_FORMS = ["Co., Ltd.", "LLC", "Ltd", "FZE", "S.A.", "GmbH", "JSC", "OOO", "Company", "PJSC", ""]


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _aeo_records(count: int, rng: random.Random) -> list[AeoRecord]:
    records = []
    for n in range(count):
        country = rng.choice(_COUNTRIES)
        kind = rng.choice(("AEOC", "AEOS", "AEOF"))
        status = rng.choices(("ACTIVE", "SUSPENDED", "REVOKED"), (90, 6, 4))[0]
        records.append(
            AeoRecord(
                operator_id=f"{country}{kind}{n:010d}",
                scheme="AEO",
                name=f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {n}",
                country=country,
                aeo_type=kind,
                status=status,  # type: ignore[arg-type]
                valid_from=date(2018, 1, 1),
            )
        )
    return records


def _watchlist_entries(count: int, rng: random.Random) -> list[WatchlistEntry]:
    def name() -> str:
        words = rng.sample(_WORDS, rng.choice((2, 3, 3, 4)))
        return f"{' '.join(words)} {rng.randrange(10**6)} {rng.choice(_FORMS)}".strip()

    return [
        WatchlistEntry(
            entry_id=f"BENCH-{n}",
            name=name(),
            aliases=[name() for _ in range(rng.choice((0, 0, 1, 2)))],
            ids=[PartyId("OTHER", f"REG{n:09d}")] if rng.random() < 0.3 else [],
            list="BENCH",
            action=rng.choice(("DNL", "HRCM", "RFI")),  # type: ignore[arg-type]
        )
        for n in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--aeo", type=int, default=1_000_000)
    parser.add_argument("--watchlist", type=int, default=100_000)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(3)
    declarations = _declarations(args.count)
    compiled = CompiledRuleSet(load_ruleset(ROOT / "rules"))

    encoded_aeo = [msgspec.json.encode(r) for r in _aeo_records(args.aeo, rng)]
    generator = DeclarationGenerator(GeneratorConfig(seed=11))
    encoded_wl = [msgspec.json.encode(e) for e in _watchlist_entries(args.watchlist, rng)]
    print(f"{len(declarations)} declarations, default rules ({len(compiled.ruleset)})")

    before = _rss_mib()
    reference = ReferenceData(AeoRegistry(), Watchlist())
    started = time.perf_counter()
    for value in encoded_aeo:
        reference.apply_aeo(b"", value)
    aeo_s = time.perf_counter() - started
    started = time.perf_counter()
    for value in encoded_wl:
        reference.apply_watchlist(b"", value)
    wl_s = time.perf_counter() - started
    print(f"  {len(reference.registry):>9,} AEO records applied in       {aeo_s:6.1f} s")
    print(f"  {len(reference.watchlist):>9,} watch-list entries applied in {wl_s:6.1f} s")
    print(f"  memory grew by about {_rss_mib() - before:,.0f} MiB")
    del generator

    empty = RuleEvaluator(compiled)
    loaded = RuleEvaluator(compiled, reference)
    _measure(empty, declarations[: args.batch], args.batch)
    _measure(loaded, declarations[: args.batch], args.batch)
    without = _measure(empty, declarations, args.batch)
    with_data = _measure(loaded, declarations, args.batch)
    print(f"  without reference data: {without:7.1f} µs per declaration")
    print(
        f"  with reference data:    {with_data:7.1f} µs per declaration "
        f"({(with_data / without - 1):+.1%})"
    )


if __name__ == "__main__":
    main()
