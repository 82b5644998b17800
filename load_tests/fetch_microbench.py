"""What fetching declarations costs the worker's process, per record: aiokafka's fetch path (the
one Faust's consumer thread runs) against confluent-kafka's ``consume``.

    .venv/bin/python -m load_tests.fetch_microbench [--records 100000] [--rate 1600] [--rounds 3]

A broker of its own (``load_tests.broker``), a topic of the benchmark's partitions, and the
benchmark's declarations, lz4-compressed as the load generator sends them. Each round reads:

- a backlog: ``--records`` declarations already on the topic, read as fast as they come;
- a steady stream: ``--rate`` declarations a second for ``--seconds``, sent by a process of
  its own, read as they arrive. The sender starts with the reader; what it sends while the
  reader joins its group is read as a small backlog, which is cheaper per record.

aiokafka runs on a thread and event loop of its own, as in Faust, with the worker's fetch wait.
Its CPU is all Python's, holding the GIL. confluent-kafka's is split: the thread that calls
``consume`` (holding the GIL) and librdkafka's own threads (fetching and decompressing without
it). The figures are CPU microseconds per record, from ``/proc`` per thread.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from load_tests.args import positive_int
from load_tests.bench import PARTITIONS, start_group_at_end
from load_tests.broker import bench_broker
from load_tests.prepare_microbench import ROOT, _records
from load_tests.profile_worker import thread_cpu
from load_tests.schedule import OpenLoopSchedule
from pipeline.kafka.producer import producer_config
from pipeline.settings import Settings
from pipeline.worker.transport import FETCH_MAX_WAIT_MS

TOPIC = "declarations"
SAMPLE_VALUES = 5_000  # distinct declarations, sent in turn
READ_TIMEOUT_S = 600.0


@dataclass(frozen=True, slots=True)
class Cost:
    """CPU microseconds per record read."""

    holding_gil: float  # the reading Python thread
    without_gil: float  # librdkafka's threads

    def __str__(self) -> str:
        return f"{self.holding_gil:.1f} µs holding the GIL, {self.without_gil:.1f} without"


# A reader takes the bootstrap, a group, and how many records to read; it returns the CPU
# seconds its Python thread and librdkafka's threads spent from its subscription to its last
# record (the first fetch of a backlog brings a sixth of it: it is counted).
Reader = Callable[[str, str, int], tuple[float, float]]


def read_with_aiokafka(bootstrap: str, group: str, count: int) -> tuple[float, float]:
    async def read() -> tuple[float, float]:
        consumer = AIOKafkaConsumer(
            TOPIC,
            bootstrap_servers=bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        await consumer.start()
        try:
            seen, started = 0, time.thread_time()
            while seen < count:
                fetched = await consumer.getmany(timeout_ms=1000)
                seen += sum(len(records) for records in fetched.values())
            return time.thread_time() - started, 0.0
        finally:
            await consumer.stop()

    return asyncio.run(read())


def read_with_confluent(bootstrap: str, group: str, count: int) -> tuple[float, float]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": FETCH_MAX_WAIT_MS,
        }
    )
    started, rdk_started = time.thread_time(), librdkafka_cpu_s()
    consumer.subscribe([TOPIC])
    try:
        seen = 0
        while seen < count:
            messages = consumer.consume(2000, 1.0)
            seen += sum(1 for m in messages if m.error() is None)
        # Before the consumer is closed: its threads end with it.
        return time.thread_time() - started, librdkafka_cpu_s() - rdk_started
    finally:
        consumer.close()


def librdkafka_cpu_s() -> float:
    """CPU seconds of this process's librdkafka threads (only consumers run in it)."""
    return sum(t.seconds for t in thread_cpu(os.getpid()).values() if t.name.startswith("rdk:"))


def measure(read: Reader, bootstrap: str, group: str, count: int) -> Cost:
    """Read ``count`` records on a thread of their own, as the worker's consumer does."""
    result: list[tuple[float, float]] = []
    thread = threading.Thread(
        target=lambda: result.append(read(bootstrap, group, count)), daemon=True
    )
    thread.start()
    thread.join(READ_TIMEOUT_S)
    if not result:
        raise SystemExit(f"{group}: {count} records not read within {READ_TIMEOUT_S:.0f} s")
    python_s, rdk_s = result[0]
    return Cost(python_s / count * 1e6, rdk_s / count * 1e6)


def send(bootstrap: str, values: list[bytes], count: int, rate_per_s: float | None) -> None:
    """``count`` declarations; at ``rate_per_s`` on an open-loop schedule, or all at once."""
    # As the load generator sends them: lz4, batched, idempotent.
    producer = Producer(producer_config(Settings(kafka_bootstrap=bootstrap).kafka))
    schedule = OpenLoopSchedule.starting_now(rate_per_s) if rate_per_s else None
    for index in range(count):
        if schedule is not None:
            time.sleep(max(0.0, schedule.wait_s(index, time.perf_counter())))
        producer.produce(TOPIC, values[index % len(values)], key=str(index).encode())
        producer.poll(0)
    producer.flush()


def create_topic(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])[TOPIC].result()


READERS: dict[str, Reader] = {"aiokafka": read_with_aiokafka, "confluent": read_with_confluent}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=positive_int, default=100_000)
    parser.add_argument("--rate", type=positive_int, default=1600)
    parser.add_argument("--seconds", type=positive_int, default=20)
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".data" / "fetch")
    parser.add_argument("--json", type=Path, help="also write the medians here")
    args = parser.parse_args(argv)
    values = [record.value for record in _records(SAMPLE_VALUES) if record.value is not None]
    steady_count = args.rate * args.seconds
    costs: dict[tuple[str, str], list[Cost]] = {}
    with bench_broker(args.work_dir / "kafka") as bootstrap:
        settings = Settings(kafka_bootstrap=bootstrap, partitions=PARTITIONS)
        create_topic(bootstrap)
        send(bootstrap, values, args.records, None)
        for round_ in range(args.rounds):
            for name, read in READERS.items():
                group = f"{name}-{round_}"
                backlog = measure(read, bootstrap, f"{group}-backlog", args.records)
                costs.setdefault(("backlog", name), []).append(backlog)
                start_group_at_end(settings, f"{group}-steady", (TOPIC,))
                feeder = multiprocessing.get_context("spawn").Process(
                    target=send, args=(bootstrap, values, steady_count, args.rate)
                )
                feeder.start()
                steady = measure(read, bootstrap, f"{group}-steady", steady_count)
                feeder.join()
                if feeder.exitcode != 0:
                    raise SystemExit(f"the steady stream's sender exited with {feeder.exitcode}")
                costs.setdefault(("steady", name), []).append(steady)
                print(f"round {round_ + 1}, {name}: backlog {backlog}; steady {steady}", flush=True)
    print(f"\nCPU µs per record, median of {args.rounds} rounds (range); steady: {args.rate}/s")
    print(f"{'read':10} {'client':10} {'holding the GIL':>22} {'librdkafka threads':>22}")
    for (what, name), found in costs.items():
        print(
            f"{what:10} {name:10} {_summary([c.holding_gil for c in found]):>22} "
            f"{_summary([c.without_gil for c in found]):>22}"
        )
    if args.json:
        medians = {
            f"{what}_{name}_{part}_us": statistics.median(getattr(c, part) for c in found)
            for (what, name), found in costs.items()
            for part in ("holding_gil", "without_gil")
        }
        args.json.write_text(json.dumps({"rate_per_s": args.rate, **medians}, indent=1))


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


if __name__ == "__main__":
    main()
