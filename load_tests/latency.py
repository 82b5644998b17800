"""The latency probe: time from a declaration's scheduled send to its assessment, in an
HdrHistogram.

The sender notes, for every (declaration_id, version) it sends, the time it was scheduled to
leave on the wall clock (``OpenLoopSchedule.due_wall``), not the time it actually left: a
sender that falls behind adds its delay to the latency instead of hiding it (coordinated
omission). The probe reads ``customs.assessments.v1`` from the end offsets taken before
sending and records, for each assessment of a declaration this run sent, the assessment
record's broker timestamp minus the scheduled send time. The broker timestamp (LogAppendTime
on the bench broker) is when the filer could first read it, and does not include the probe's
own delays on a busy machine. Both clocks are the same machine's; the broker gives
milliseconds, so figures carry about 1 ms of rounding. ``submitted_at`` is not used: the
generator sets it when a declaration is drawn, not sent.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import Consumer, TopicPartition
from hdrh.histogram import HdrHistogram

from pipeline import topics
from pipeline.settings import Settings

# Microseconds from 1 µs to 1 hour, 3 significant digits.
_LOWEST_US, _HIGHEST_US, _DIGITS = 1, 3_600_000_000, 3
CURVE_PERCENTILES = (0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.99, 100.0)

SendKey = tuple[str, int]


def new_histogram() -> HdrHistogram:
    return HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)


def record_ms(histogram: HdrHistogram, latency_ms: float) -> None:
    """Record one latency; values below the histogram's floor count as its floor."""
    histogram.record_value(min(_HIGHEST_US, max(_LOWEST_US, round(latency_ms * 1000))))


def summarise(histogram: HdrHistogram) -> dict[str, Any]:
    """p50, p99, p99.9 and max in milliseconds, and the percentile curve for the chart."""

    def at(percentile: float) -> float:
        return round(int(histogram.get_value_at_percentile(percentile)) / 1000, 3)

    return {
        "count": histogram.get_total_count(),
        "p50_ms": at(50.0),
        "p99_ms": at(99.0),
        "p999_ms": at(99.9),
        "max_ms": round(histogram.get_max_value() / 1000, 3),
        "curve": [[p, at(p)] for p in CURVE_PERCENTILES],
    }


@dataclass
class SendLog:
    """Scheduled send times (wall clock, seconds) by declaration version, written by the
    sender and read by the probe; those sent during the warm-up are not measured."""

    sent_at: dict[SendKey, float] = field(default_factory=dict)
    warming_up: set[SendKey] = field(default_factory=set)

    def note(self, key: SendKey, at_s: float, measured: bool = True) -> None:
        self.sent_at[key] = at_s
        if not measured:
            self.warming_up.add(key)

    @property
    def measured(self) -> int:
        return len(self.sent_at) - len(self.warming_up)


class LatencyRecorder:
    """Turns assessment records into latencies: the first assessment of each declaration
    version that this run sent after its warm-up counts; duplicates (at-least-once) and
    others' do not."""

    def __init__(self, send_log: SendLog) -> None:
        self.histogram = new_histogram()
        self.assessed = 0
        self._send_log = send_log
        self._seen: set[SendKey] = set()

    def observe(self, value: bytes | None, assessed_ms: int) -> None:
        if not value:
            return
        document = orjson.loads(value)
        key = (document.get("declaration_id"), document.get("version"))
        sent_s = self._send_log.sent_at.get(key)
        if sent_s is None or key in self._seen:
            return
        self._seen.add(key)
        if key in self._send_log.warming_up:
            return
        self.assessed += 1
        record_ms(self.histogram, assessed_ms - sent_s * 1000)


class LatencyProbe:
    """Consumes assessments in a thread of its own from ``start_offsets`` on."""

    def __init__(
        self, settings: Settings, start_offsets: dict[int, int], send_log: SendLog
    ) -> None:
        self.recorder = LatencyRecorder(send_log)
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                **settings.kafka.librdkafka_config(),
                "group.id": f"bench-latency-probe-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
            }
        )
        self._consumer.assign(
            [TopicPartition(topics.ASSESSMENTS, p, o) for p, o in start_offsets.items()]
        )
        self._thread = threading.Thread(target=self._run, name="latency-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self._consumer.consume(1000, 0.2):
                if message.error() is None:
                    self.recorder.observe(message.value(), message.timestamp()[1])

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._consumer.close()
