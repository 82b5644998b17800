"""The lag of each partner administration's link, sampled in the background for /metrics.

A thread reads the newest replicated heartbeat of every partner (``link.link_lag_seconds``)
every ``interval_s``; a scrape only reads what it last found, so a slow or absent partner
topic never slows a scrape. ``screening_c2c_link_lag_seconds{partner}`` is the age of the newest
heartbeat (absent until one has arrived); ``screening_c2c_link_heartbeats_seen{partner}`` is 0
until then, so that a link that never came up alerts too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pipeline.errors import KafkaUnavailable

__all__ = ["LinkLagSampler"]

log = logging.getLogger(__name__)

LagOf = Callable[[str], float | None]


class LinkLagSampler(Collector):
    def __init__(self, aliases: Iterable[str], lag_of: LagOf, interval_s: float = 15.0) -> None:
        self.aliases: Sequence[str] = tuple(sorted(set(aliases)))
        self._lag_of = lag_of
        self._interval_s = interval_s
        self._lags: dict[str, float | None] = dict.fromkeys(self.aliases)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="c2c-link-lag", daemon=True)

    def start(self) -> LinkLagSampler:
        if self.aliases:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def sample(self) -> None:
        """One reading of every link; a partner whose topic cannot be read keeps no value."""
        for alias in self.aliases:
            try:
                lag = self._lag_of(alias)
            except KafkaUnavailable as exc:
                log.warning("link lag of partner %s not read: %s", alias, exc)
                lag = None
            with self._lock:
                self._lags[alias] = lag

    def lags(self) -> dict[str, float | None]:
        with self._lock:
            return dict(self._lags)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._interval_s)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "screening_c2c_link_lag_seconds",
            "Age of the newest heartbeat replicated from each partner administration's cluster.",
            labels=["partner"],
        )
        seen = GaugeMetricFamily(
            "screening_c2c_link_heartbeats_seen",
            "1 once a heartbeat from the partner's cluster has arrived here, else 0.",
            labels=["partner"],
        )
        for alias, value in self.lags().items():
            seen.add_metric([alias], 0.0 if value is None else 1.0)
            if value is not None:
                lag.add_metric([alias], value)
        yield lag
        yield seen
