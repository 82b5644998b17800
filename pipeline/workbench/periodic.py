"""A job the workbench runs on its own every so often, with a connection of its own."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg

log = logging.getLogger(__name__)

Job = Callable[[psycopg.Connection[Any]], None]


class Periodic:
    """Runs ``job`` at start and then every ``every_s`` seconds until stopped; a database
    error is logged and the job runs again at its next turn."""

    def __init__(
        self,
        name: str,
        every_s: float,
        job: Job,
        connect: Callable[[], psycopg.Connection[Any]],
    ) -> None:
        self._name = name
        self._every_s = every_s
        self._job = job
        self._connect = connect
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"workbench-{name}", daemon=True)

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    conn.autocommit = True
                    self._job(conn)
            except psycopg.Error as exc:
                log.warning("%s: not done this time: %s", self._name, exc)
            self._stop.wait(self._every_s)
