"""Each worker's status on ``customs.worker.status.v1``: which rule set it screens with, since
when, which published sets it refused, and when it last reported.

The worker writes its record when it takes up or refuses a rule set and every
``SCREENING_WORKER_STATUS_INTERVAL_S`` (a heartbeat), keyed by its id, and a tombstone when it
stops cleanly. The topic is compacted, so reading it whole gives every worker's last record;
``screening rules status`` compares them with the manifest on the rules topic. A worker not
heard from for ``STALE_HEARTBEATS`` of its intervals is shown as stale: it was killed, or
cannot reach Kafka.

Reporting runs on a thread of its own and never raises into the worker: a status that cannot
be written is logged, and screening goes on.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import orjson
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from pipeline import topics
from pipeline.kafka.producer import producer_config
from pipeline.rules.source import PublishedRules, RuleSetHolder
from pipeline.settings import Settings, WorkerSettings

__all__ = [
    "StatusReporter",
    "WorkerStatus",
    "WorkerView",
    "snapshot_of",
    "timestamp",
    "worker_id",
    "worker_views",
]

log = logging.getLogger(__name__)

STALE_HEARTBEATS = 3
# Refused versions kept in the record: the newest few say enough, and the record stays small.
REFUSED_KEPT = 5
_FLUSH_TIMEOUT_S = 10.0


def worker_id(worker: WorkerSettings) -> str:
    """Host and HTTP port: unique per worker process, and what Prometheus calls the instance
    when it scrapes the worker by host name."""
    return f"{socket.gethostname()}:{worker.web_port}"


def timestamp(unix: float) -> str:
    return (
        datetime.fromtimestamp(unix, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _unix(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    """One worker's record. Times are RFC 3339 in UTC; ``ruleset_source`` is ``topic`` for a
    published set and ``folder`` for the rule folder read while none was published."""

    worker: str
    group: str
    ruleset_version: str | None
    ruleset_source: str
    taken_up_at: str | None
    latest_seen: str | None  # the newest manifest's version this worker has seen
    refused: tuple[str, ...]
    started_at: str
    reported_at: str
    interval_s: float
    pid: int = field(default_factory=os.getpid)

    def to_json(self) -> bytes:
        return orjson.dumps({**asdict(self), "refused": list(self.refused)})

    @classmethod
    def from_json(cls, raw: bytes) -> WorkerStatus | None:
        """The record, or None when it is not one (written by something else)."""
        try:
            data = orjson.loads(raw)
            return cls(
                worker=str(data["worker"]),
                group=str(data.get("group") or ""),
                ruleset_version=data.get("ruleset_version"),
                ruleset_source=str(data.get("ruleset_source") or "topic"),
                taken_up_at=data.get("taken_up_at"),
                latest_seen=data.get("latest_seen"),
                refused=tuple(str(v) for v in data.get("refused") or ()),
                started_at=str(data["started_at"]),
                reported_at=str(data["reported_at"]),
                interval_s=float(data["interval_s"]),
                pid=int(data.get("pid") or 0),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    def age_s(self, now: float) -> float | None:
        reported = _unix(self.reported_at)
        return None if reported is None else max(0.0, now - reported)

    def stale(self, now: float) -> bool:
        age = self.age_s(now)
        return age is None or age > STALE_HEARTBEATS * self.interval_s


@dataclass(frozen=True, slots=True)
class WorkerView:
    """A worker's record as ``screening rules status`` shows it."""

    status: WorkerStatus
    latest: bool  # screens with the latest published set
    stale: bool
    age_s: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self.status),
            "refused": list(self.status.refused),
            "latest": self.latest,
            "stale": self.stale,
            "last_seen_s": None if self.age_s is None else round(self.age_s, 1),
        }


def worker_views(
    records: Mapping[bytes, bytes], latest_version: str | None, now: float
) -> list[WorkerView]:
    """Every worker's last record from the status topic's live records, by worker id."""
    views = []
    for raw in records.values():
        status = WorkerStatus.from_json(raw)
        if status is None:
            continue
        views.append(
            WorkerView(
                status,
                latest=latest_version is not None and status.ruleset_version == latest_version,
                stale=status.stale(now),
                age_s=status.age_s(now),
            )
        )
    return sorted(views, key=lambda v: (v.status.group, v.status.worker))


# --- the worker's side --------------------------------------------------------------------------


class _Producer(Protocol):
    def produce(
        self, topic: str, value: bytes | None, key: bytes, on_delivery: Callable[..., None]
    ) -> None: ...

    def poll(self, timeout: float) -> int: ...

    def flush(self, timeout: float) -> int: ...


class StatusReporter:
    """Writes ``snapshot()`` now, at every ``changed()``, and every ``interval_s``; ``stop``
    writes the tombstone."""

    def __init__(
        self,
        settings: Settings,
        snapshot: Callable[[], WorkerStatus],
        producer: _Producer | None = None,
    ) -> None:
        self.worker = worker_id(settings.worker)
        self._snapshot = snapshot
        self._interval_s = settings.worker.status_interval_s
        self._producer: _Producer = (
            producer
            if producer is not None
            # confluent-kafka's stubs declare produce() loosely; it takes these arguments.
            else cast(
                _Producer,
                Producer({**producer_config(settings.kafka), "client.id": f"status-{self.worker}"}),
            )
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-status", daemon=True)
        self.sent = 0

    def start(self) -> StatusReporter:
        self._thread.start()
        return self

    def changed(self) -> None:
        """A rule set was taken up or refused: report it without waiting for the heartbeat."""
        self._wake.set()

    def stop(self) -> None:
        """Stop reporting and write the tombstone: a worker that stopped cleanly is gone."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=_FLUSH_TIMEOUT_S)
        self._send(None)
        if self._producer.flush(_FLUSH_TIMEOUT_S):
            log.warning("worker status: the tombstone of %s was not acknowledged", self.worker)

    def report(self) -> None:
        self._send(self._snapshot().to_json())

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.report()
            except Exception:  # the status is diagnostics: never let it stop the worker
                log.exception("worker status: cannot build or send the record")
            self._wake.wait(self._interval_s)
            self._wake.clear()

    def _send(self, value: bytes | None) -> None:
        try:
            self._producer.produce(
                topics.WORKER_STATUS, value, self.worker.encode(), on_delivery=_delivered
            )
            self._producer.poll(0)
            self.sent += 1
        except (BufferError, KafkaException) as exc:
            log.warning("worker status: not sent: %s", exc)


def _delivered(error: KafkaError | None, message: Message) -> None:
    if error is not None:
        log.warning("worker status: not written to %s: %s", topics.WORKER_STATUS, error.str())


def snapshot_of(
    settings: Settings,
    holder: RuleSetHolder,
    published: PublishedRules,
    started_at: float | None = None,
) -> Callable[[], WorkerStatus]:
    """A ``snapshot`` for the reporter from the rule set the worker holds and what it has
    seen on the rules topic."""
    started = timestamp(started_at or time.time())
    worker = worker_id(settings.worker)

    def snapshot() -> WorkerStatus:
        version = holder.current.version if holder.ready else None
        taken_up = holder.activated_at
        return WorkerStatus(
            worker=worker,
            group=settings.topics.app_id,
            ruleset_version=version,
            ruleset_source="topic" if version and version == published.taken_up else "folder",
            taken_up_at=None if taken_up is None else timestamp(taken_up),
            latest_seen=published.latest_version,
            refused=tuple(published.refused[-REFUSED_KEPT:]),
            started_at=started,
            reported_at=timestamp(time.time()),
            interval_s=settings.worker.status_interval_s,
        )

    return snapshot
