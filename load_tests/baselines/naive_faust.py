"""Naive Faust baseline: what a user writes first.

    python -m load_tests.baselines.naive_faust --bootstrap HOST:PORT --group G --input T \
        --output T --web-port N --data-dir DIR

One agent takes one event at a time through Faust's json codec, evaluates the default rules in
plain Python and awaits the send of one assessment. Runs until stopped (SIGTERM or SIGINT).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust
from faust.worker import Worker

from load_tests.baselines.arguments import baseline_parser
from load_tests.baselines.plain_rules import assessment, load_rules

ROOT = Path(__file__).resolve().parents[2]


def create_app(args: argparse.Namespace) -> faust.App:
    rules = load_rules(ROOT / "rules")
    app = faust.App(
        args.group,
        broker=f"kafka://{args.bootstrap}",
        store="memory://",
        datadir=args.data_dir,
        topic_partitions=args.partitions,
        consumer_auto_offset_reset="earliest",
        web_port=args.web_port,
        web_bind="127.0.0.1",
    )
    source = app.topic(args.input, key_serializer="raw", value_serializer="json")
    sink = app.topic(args.output, key_serializer="raw", value_serializer="json")

    @app.agent(source)
    async def screen(stream: Any) -> None:
        async for event in stream.events():
            assessed_at = datetime.now(UTC).isoformat()
            await sink.send(key=event.key, value=assessment(rules, event.value, assessed_at))

    return app


def main() -> None:
    parser = baseline_parser(__doc__)
    parser.add_argument("--web-port", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--partitions", type=int, default=12)
    args = parser.parse_args()
    Worker(create_app(args), loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
