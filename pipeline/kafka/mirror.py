"""A full, live copy of a compacted topic in every worker (the GlobalKTable pattern).

A background thread reads every partition from the beginning, outside any consumer group (so
each worker gets all of it, and no group rebalances), hands each record to a callback, and keeps
reading while the worker runs. ``caught_up`` is set once the end of every partition as it was
at start has been read: a worker waits for it before it screens anything.

A partner's topics are created by MirrorMaker 2 when it first replicates them, so a mirror
made with ``optional`` takes a missing topic for an empty one (caught up) and looks for it
again every ``retry_s`` until it appears, then reads it from its beginning; a topic the
worker may not read yet (no ACL for the partner) is logged and waited for the same way.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import cast

from pipeline.errors import KafkaAccessRefused, KafkaUnavailable, TopicMissing
from pipeline.kafka.reader import TopicReader
from pipeline.records import InputRecord
from pipeline.settings import KafkaSettings

__all__ = ["TopicMirror"]

log = logging.getLogger(__name__)

OnRecord = Callable[[bytes | None, bytes | None], None]
# For a consumer that needs where a record came from (a dead letter names it).
OnMessage = Callable[[InputRecord], None]


class TopicMirror:
    def __init__(
        self,
        kafka: KafkaSettings,
        topic: str,
        on_record: OnRecord | OnMessage,
        on_caught_up: Callable[[], None] | None = None,
        optional: bool = False,
        retry_s: float = 10.0,
        whole_records: bool = False,
    ) -> None:
        self.topic = topic
        self.optional = optional
        self._retry_s = retry_s
        self._kafka = kafka
        # With whole_records, on_record takes the record rather than its key and value.
        self._apply: OnMessage = (
            cast(OnMessage, on_record)
            if whole_records
            else functools.partial(_key_and_value, cast(OnRecord, on_record))
        )
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

    def _caught_up(self) -> None:
        if not self.caught_up.is_set():
            if self._on_caught_up is not None:
                self._on_caught_up()
            self.caught_up.set()

    def _open(self) -> TopicReader | None:
        """The topic's reader; None once stopped, or when it failed (``failed`` says why)."""
        while not self._stop.is_set():
            try:
                return TopicReader(self._kafka, self.topic)
            except (TopicMissing, KafkaAccessRefused) as exc:
                if not self.optional:
                    self.failed = exc
                    self.caught_up.set()
                    return None
                if isinstance(exc, KafkaAccessRefused) and not self.caught_up.is_set():
                    # Kafka answers so for a topic the principal may not read: grant it.
                    log.error("%s: %s; read as empty until allowed", self.topic, exc)
                self._caught_up()  # nothing to read yet is all there is
                self._stop.wait(self._retry_s)
            except KafkaUnavailable as exc:
                self.failed = exc
                self.caught_up.set()
                return None
        return None

    def _run(self) -> None:
        reader = self._open()
        if reader is None:
            return
        try:
            while not self._stop.is_set():
                for record in reader.poll(0.5, max_records=10_000):
                    try:
                        self._apply(record)
                    except Exception:
                        # One bad reference record must not stop the copy of all others.
                        log.exception(
                            "%s: record at offset %d not applied", self.topic, record.offset
                        )
                    self.records += 1
                    stamp = record.timestamp_ms
                    if stamp is not None and stamp > (self.newest_timestamp_ms or -1):
                        self.newest_timestamp_ms = stamp
                if reader.caught_up:
                    self._caught_up()
        except Exception as exc:
            log.exception("%s: mirror stopped", self.topic)
            self.failed = exc
            self.caught_up.set()
        finally:
            reader.close()


def _key_and_value(on_record: OnRecord, record: InputRecord) -> None:
    on_record(record.key, record.value)
