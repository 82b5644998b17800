"""Open-loop load generator: realistic declarations at a fixed rate, whatever the pipeline does.

    .venv/bin/python -m load_tests.loadgen --bootstrap HOST:PORT --rate 5000 --seconds 60

Payloads come from ``DeclarationGenerator`` (as ``screening generate``) and are made before the
timed part; when a run needs more than the pool holds, the pool is sent again with new
declaration ids. Message i is due at t0 + i / rate (``schedule.OpenLoopSchedule``); a sender
that falls behind is reported, never slowed by the consumer. Each message's send time, for the
latency probe, is its scheduled (due) time on the wall clock, not when it actually left: a
sender that falls behind (a stalled broker, a busy machine) cannot hide that wait from the
figures (no coordinated omission). The latency probe runs alongside; p50, p99, p99.9 and max
are printed.
"""

from __future__ import annotations

import argparse
import string
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import Producer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from load_tests.latency import LatencyProbe, SendLog, summarise
from load_tests.schedule import OpenLoopSchedule
from load_tests.topic_stats import end_offsets
from pipeline import topics
from pipeline.kafka.producer import producer_config
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.settings import Settings

DEFAULT_POOL = 50_000
_DRAIN_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Payload:
    key: bytes
    value: bytes
    declaration_id: str
    version: int


class PayloadPool:
    """Generated messages, sent again under other ids when a run needs more than the pool."""

    def __init__(self, size: int, seed: int, risky_share: float = 0.05) -> None:
        generator = DeclarationGenerator(GeneratorConfig(seed=seed, risky_share=risky_share))
        self._payloads = []
        for message in generator.messages(size):
            document = orjson.loads(message.value)
            self._payloads.append(
                Payload(message.key, message.value, document["declaration_id"], document["version"])
            )
        # Every id starts "PLACI-<year>-<run>-"; a later round changes the run code.
        first = self._payloads[0].declaration_id
        self._prefix = first[: first.rindex("-") + 1]

    def __len__(self) -> int:
        return len(self._payloads)

    def take(self, count: int) -> Iterator[Payload]:
        for index in range(count):
            rounds, position = divmod(index, len(self._payloads))
            payload = self._payloads[position]
            yield payload if rounds == 0 else self._renamed(payload, rounds)

    def _renamed(self, payload: Payload, rounds: int) -> Payload:
        # Lower-case letters never occur in a generated run code, so ids stay unique.
        letters = string.ascii_lowercase
        code = letters[rounds // 26 % 26] + letters[rounds % 26]
        new_prefix = self._prefix[:-3] + code + "-"
        old, new = self._prefix.encode(), new_prefix.encode()
        return Payload(
            payload.key.replace(old, new),
            payload.value.replace(old, new),
            payload.declaration_id.replace(self._prefix, new_prefix),
            payload.version,
        )


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int
    seconds: float
    worst_lateness_ms: float
    late_share: float

    def as_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "send_seconds": round(self.seconds, 2),
            "achieved_rate_per_s": round(self.sent / self.seconds, 1) if self.seconds else None,
            "sender_worst_lateness_ms": round(self.worst_lateness_ms, 1),
            "sender_late_share": round(self.late_share, 4),
        }


def send_open_loop(
    producer: Producer,
    payloads: Iterator[Payload],
    count: int,
    rate_per_s: float,
    send_log: SendLog | None,
    progress: bool,
    topic: str = topics.DECLARATIONS,
    measure_from: int = 0,
    on_measuring: Callable[[], None] | None = None,
) -> SendReport:
    """Send ``count`` payloads at ``rate_per_s`` on a fixed schedule. The first
    ``measure_from`` are a warm-up, noted as such in ``send_log``; ``on_measuring`` is called
    as the first measured one is due."""
    console = Console(stderr=True)
    schedule = OpenLoopSchedule.starting_now(rate_per_s)
    with Progress(
        TextColumn(f"open loop at {rate_per_s:,.0f}/s"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[behind]}"),
        console=console,
        disable=not (progress and console.is_terminal),
    ) as bar:
        task = bar.add_task("send", total=count, behind="")
        for index, payload in enumerate(payloads):
            wait = schedule.wait_s(index, time.monotonic())
            # Sleeping less than half a millisecond costs more than it spaces.
            if wait > 0.0005:
                producer.poll(0)
                time.sleep(wait)
            if index == measure_from and on_measuring is not None:
                on_measuring()
            if send_log is not None:
                # The due time, not the moment it leaves: latency counts from when it should.
                send_log.note(
                    (payload.declaration_id, payload.version),
                    schedule.due_wall(index),
                    measured=index >= measure_from,
                )
            while True:
                try:
                    producer.produce(topic, payload.value, payload.key)
                    break
                except BufferError:
                    producer.poll(0.01)
            schedule.record_send(index, time.monotonic())
            if index % 1000 == 0:
                producer.poll(0)
                behind = schedule.due(index) - time.monotonic()
                bar.update(
                    task,
                    completed=index,
                    behind=f"sender {-behind * 1000:.0f} ms behind" if behind < -0.1 else "",
                )
        bar.update(task, completed=count)
    seconds = time.monotonic() - schedule.started_at
    producer.flush(60)
    return SendReport(schedule.sent, seconds, schedule.worst_lateness_s * 1000, schedule.late_share)


def connected_producer(settings: Settings) -> Producer:
    """A producer already connected, with the input topic's metadata. A filer's producer is
    long-lived: a new one's connection and idempotent-producer id (a few hundred milliseconds
    on a busy machine) would be counted, by the scheduled send times, against the first
    declarations' latency."""
    producer = Producer(producer_config(settings.kafka))
    producer.list_topics(topics.DECLARATIONS, timeout=30)
    return producer


def run_with_probe(
    settings: Settings,
    rate_per_s: float,
    seconds: float,
    seed: int,
    progress: bool,
    pool_size: int = DEFAULT_POOL,
    warmup_s: float = 0.0,
    on_measuring: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Send at ``rate_per_s`` for ``warmup_s`` and then ``seconds`` more, on one schedule
    without a pause, while the probe times every assessment of what is sent after the warm-up.
    ``on_measuring`` is called as the measured part begins."""
    warmup = round(rate_per_s * warmup_s)
    count = warmup + max(1, round(rate_per_s * seconds))
    pool = PayloadPool(min(count, pool_size), seed)
    send_log = SendLog()
    probe = LatencyProbe(settings, end_offsets(settings, topics.ASSESSMENTS), send_log)
    probe.start()
    producer = connected_producer(settings)
    try:
        report = send_open_loop(
            producer,
            pool.take(count),
            count,
            rate_per_s,
            send_log,
            progress,
            measure_from=warmup,
            on_measuring=on_measuring,
        )
        deadline = time.monotonic() + _DRAIN_TIMEOUT_S
        while probe.recorder.assessed < send_log.measured and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        probe.stop()
    return {
        "rate_per_s": rate_per_s,
        **report.as_json(),
        "measured": send_log.measured,
        "assessed": probe.recorder.assessed,
        "unanswered": send_log.measured - probe.recorder.assessed,
        **summarise(probe.recorder.histogram),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=99)
    args = parser.parse_args()
    if args.rate <= 0 or args.seconds <= 0:
        parser.error("--rate and --seconds must be positive")
    settings = Settings(kafka_bootstrap=args.bootstrap)
    result = run_with_probe(settings, args.rate, args.seconds, args.seed, progress=True)
    result.pop("curve")
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
