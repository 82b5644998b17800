"""Quix Streams baseline: the same screening as a Quix Streams application.

    <quix venv>/bin/python -m load_tests.baselines.quix_screening --bootstrap HOST:PORT \
        --group G --input T --output T --state-dir DIR

Decode (json), the default rules evaluated per message in plain Python, one assessment out.
Runs in its own virtual environment (see load_tests/quix_env.py), with Quix Streams and PyYAML
only: Quix Streams pins confluent-kafka and pydantic below the project's versions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quixstreams import Application

from load_tests.baselines.arguments import baseline_parser
from load_tests.baselines.plain_rules import assessment, load_rules

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = baseline_parser(__doc__)
    parser.add_argument("--state-dir", required=True)
    args = parser.parse_args()
    rules = load_rules(ROOT / "rules")

    def screen(document: Any) -> dict[str, Any]:
        return assessment(rules, document, datetime.now(UTC).isoformat())

    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=args.state_dir,
        auto_create_topics=False,
    )
    source = app.topic(args.input, value_deserializer="json")
    sink = app.topic(args.output, value_serializer="json")
    app.dataframe(source).apply(screen).to_topic(sink)
    app.run()


if __name__ == "__main__":
    main()
