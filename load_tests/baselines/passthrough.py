"""Passthrough baseline: the ceiling for one Python process on this machine.

    python -m load_tests.baselines.passthrough --bootstrap HOST:PORT --group G --input T --output T

A confluent-kafka consumer takes batches (``consume(num_messages=...)``), orjson parses each
declaration and one small assessment per declaration is produced, batched by librdkafka.
Runs until stopped (SIGTERM or SIGINT).
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from types import FrameType

import orjson
from confluent_kafka import Consumer, Producer

from load_tests.baselines.arguments import baseline_parser

_BATCH = 2000


def main() -> None:
    parser = baseline_parser(__doc__)
    args = parser.parse_args()
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
        }
    )
    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    consumer.subscribe([args.input])
    while not stopping:
        batch = consumer.consume(num_messages=_BATCH, timeout=0.5)
        assessed_at = datetime.now(UTC).isoformat()
        for message in batch:
            if message.error() is not None:
                continue
            try:
                document = orjson.loads(message.value() or b"")
                declaration_id, version = document["declaration_id"], document["version"]
                outcome = "ASSESSMENT_COMPLETE"
            except (orjson.JSONDecodeError, TypeError, KeyError):
                declaration_id, version, outcome = None, None, "REJECTED"
            value = orjson.dumps(
                {
                    "declaration_id": declaration_id,
                    "version": version,
                    "outcome": outcome,
                    "assessed_at": assessed_at,
                }
            )
            while True:
                try:
                    producer.produce(args.output, value, message.key())
                    break
                except BufferError:
                    producer.poll(0.05)
        producer.poll(0)
    producer.flush(30)
    consumer.close()


if __name__ == "__main__":
    main()
