"""Worker start-up with large reference data: time from launch to ready.

    .venv/bin/python -m load_tests.reference_startup --bootstrap 127.0.0.1:9092 \
        [--aeo 1000000] [--watchlist 100000]

Publishes the synthetic AEO records and watch-list entries of ``reference_microbench`` to the
reference topics of the broker given (use a broker of its own: they stay there), then starts
`screening worker` and measures until it reports ready, and how long its copy took to load.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec
from confluent_kafka import Producer

from load_tests.reference_microbench import _aeo_records, _watchlist_entries
from pipeline import topics
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.producer import produce_waiting, producer_config
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def publish_reference_data(settings: Settings, aeo: int, watchlist: int) -> None:
    rng = random.Random(3)
    producer = Producer(producer_config(settings.kafka))
    started = time.perf_counter()
    for record in _aeo_records(aeo, rng):
        produce_waiting(
            producer,
            topics.AEO_REGISTRY,
            msgspec.json.encode(record),
            record.operator_id.encode(),
        )
    for entry in _watchlist_entries(watchlist, rng):
        produce_waiting(
            producer, topics.WATCHLIST, msgspec.json.encode(entry), entry.entry_id.encode()
        )
    producer.flush(120)
    print(
        f"published {aeo:,} AEO records and {watchlist:,} entries in "
        f"{time.perf_counter() - started:.1f} s"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _time_to_ready(settings: Settings) -> None:
    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "worker.log"
        env = {
            **os.environ,
            "SCREENING_KAFKA_BOOTSTRAP": settings.kafka.servers,
            "SCREENING_APP_ID": f"startup-{os.getpid()}",
            "SCREENING_DATA_DIR": str(Path(folder) / "state"),
            "SCREENING_WEB_PORT": str(_free_port()),
            "SCREENING_CONSUMER_OFFSET_RESET": "latest",
        }
        started = time.perf_counter()
        with log_path.open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "pipeline", "worker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            loaded_at = None
            while worker.poll() is None:
                text = log_path.read_text(errors="replace")
                if loaded_at is None and "reference data loaded" in text:
                    loaded_at = time.perf_counter() - started
                if "[^Worker]: Ready" in text:
                    ready = time.perf_counter() - started
                    found = re.search(r"reference data loaded: .*", text)
                    print(found.group(0) if found else "")
                    print(
                        f"reference data loaded after {loaded_at or 0:.1f} s; ready after "
                        f"{ready:.1f} s"
                    )
                    return
                time.sleep(0.2)
            print(log_path.read_text()[-2000:])
            raise SystemExit("the worker stopped before it was ready")
        finally:
            worker.terminate()
            worker.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--aeo", type=int, default=1_000_000)
    parser.add_argument("--watchlist", type=int, default=100_000)
    parser.add_argument("--skip-publish", action="store_true")
    args = parser.parse_args()
    settings = Settings(kafka_bootstrap=args.bootstrap)
    ensure_topics(settings)
    if not args.skip_publish:
        publish_reference_data(settings, args.aeo, args.watchlist)
    _time_to_ready(settings)


if __name__ == "__main__":
    main()
