"""Write synthetic declarations to a file, as a recording of filings to backtest rules on.

    python -m pipeline.samples.record recorded.jsonl --count 100000 --seed 7 --aeo-out aeo.csv

The messages are those ``screening generate`` publishes (filings, later amendments and
invalidations, risky and optionally malformed ones), one per line. ``--aeo-out`` writes the AEO
registry of the generated companies in the loader's CSV format, so that a backtest and
``screening aeo load`` can verify their AEO claims.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from pipeline.reference.csv_load import AEO_HEADER
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig


def record(
    path: Path, count: int, config: GeneratorConfig, aeo_path: Path | None = None
) -> DeclarationGenerator:
    generator = DeclarationGenerator(config)
    with path.open("wb") as handle:
        for message in generator.messages(count):
            handle.write(message.value + b"\n")
    if aeo_path is not None:
        with aeo_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=AEO_HEADER)
            writer.writeheader()
            writer.writerows(generator.aeo_records())
    return generator


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.samples.record", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("file", type=Path, help="where to write the declarations (JSON lines)")
    parser.add_argument("--count", type=_count, required=True, help="how many messages")
    parser.add_argument("--seed", type=int, default=None, help="seed, for a reproducible file")
    parser.add_argument("--risky-share", type=_share, default=0.05)
    parser.add_argument("--malformed-share", type=_share, default=0.0)
    parser.add_argument("--aeo-out", type=Path, default=None, help="AEO registry CSV to write")
    args = parser.parse_args(argv)
    config = GeneratorConfig(
        seed=args.seed, risky_share=args.risky_share, malformed_share=args.malformed_share
    )
    try:
        record(args.file, args.count, config, args.aeo_out)
    except OSError as exc:
        print(f"record: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {args.count} messages to {args.file}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
