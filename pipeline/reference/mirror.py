"""A full, live copy of a compacted topic in every worker (the GlobalKTable pattern).

A background thread reads every partition from the beginning, outside any consumer group (so
each worker gets all of it, and no group rebalances), hands each record to a callback, and keeps
reading while the worker runs. ``caught_up`` is set once the end of every partition as it was
at start has been read: a worker waits for it before it screens anything.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from pipeline.errors import KafkaUnavailable
from pipeline.kafka.reader import TopicReader
from pipeline.settings import Settings

log = logging.getLogger(__name__)

OnRecord = Callable[[bytes | None, bytes | None], None]


class TopicMirror:
    def __init__(
        self,
        settings: Settings,
        topic: str,
        on_record: OnRecord,
        on_caught_up: Callable[[], None] | None = None,
    ) -> None:
        self.topic = topic
        self._settings = settings
        self._on_record = on_record
        self._on_caught_up = on_caught_up
        self.caught_up = threading.Event()
        self.records = 0
        self.newest_timestamp_ms: int | None = None  # of the newest record read
        self.failed: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"mirror:{topic}", daemon=True)

    def start(self) -> TopicMirror:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def wait(self, timeout_s: float) -> None:
        """Block until the copy is complete; raise if it failed or took too long."""
        if not self.caught_up.wait(timeout_s):
            raise KafkaUnavailable(
                f"{self.topic}: not read to its end within {timeout_s:g} s "
                f"({self.records} records so far)"
            )
        if self.failed is not None:
            raise KafkaUnavailable(f"{self.topic}: {self.failed}")

    def _run(self) -> None:
        try:
            reader = TopicReader(self._settings, self.topic)
        except KafkaUnavailable as exc:
            self.failed = exc
            self.caught_up.set()
            return
        try:
            while not self._stop.is_set():
                for record in reader.poll(0.5, max_records=10_000):
                    try:
                        self._on_record(record.key, record.value)
                    except Exception:
                        # One bad reference record must not stop the copy of all others.
                        log.exception(
                            "%s: record at offset %d not applied", self.topic, record.offset
                        )
                    self.records += 1
                    if self.newest_timestamp_ms is None or record.timestamp_ms > (
                        self.newest_timestamp_ms
                    ):
                        self.newest_timestamp_ms = record.timestamp_ms
                if reader.caught_up and not self.caught_up.is_set():
                    if self._on_caught_up is not None:
                        self._on_caught_up()
                    self.caught_up.set()
        except Exception as exc:
            log.exception("%s: mirror stopped", self.topic)
            self.failed = exc
            self.caught_up.set()
        finally:
            reader.close()
