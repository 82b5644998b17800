"""Readiness and liveness of a worker, for a supervisor's probes (/readyz and /livez).

Ready: the worker has joined its consumer group and restored its version table at least once,
and its rule set and reference data are loaded and still being kept current. A worker that got
no partition (the group has more workers than partitions) is ready too: it is a hot standby
that takes partitions at the next rebalance, and readiness gates no traffic, only rollouts and
disruption budgets. Later rebalances do not make a worker unready: they are the group's normal
life, and all workers would turn unready together.

Alive: the page answers (so the event loop runs), and the worker is not stalled. Stalled means
that declarations have waited on its partitions longer than the stall timeout while it screened
nothing for as long, outside a rebalance. A restart then hands its partitions to the group again;
nothing is lost, as offsets are committed only after the outputs are stored. Without a fresh lag
measurement (metrics off, or Kafka unreachable) the worker is not judged stalled: restarting
workers does not bring a broker back.

The checks are pure functions of facts; ``HealthTracker`` gathers the facts as the worker runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pipeline.worker.lag import PartitionLag

# A lag measurement older than this many measuring intervals is not trusted.
STALE_MEASUREMENTS = 3


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    reasons: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {"ok": self.ok, "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class ReadinessFacts:
    rebalances_completed: int
    rules_loaded: bool
    failed_mirrors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LivenessFacts:
    rebalancing: bool
    seconds_since_progress: float
    """Since the last screened batch, the last completed rebalance or the start."""
    waiting_declarations: int | None
    """On the assigned partitions at the last measurement; None if none is fresh."""
    oldest_waiting_s: float = 0.0


def readiness(facts: ReadinessFacts) -> Verdict:
    reasons = []
    if facts.rebalances_completed == 0:
        reasons.append("not yet joined the consumer group (no rebalance completed)")
    if not facts.rules_loaded:
        reasons.append("no rule set loaded")
    reasons.extend(f"{topic}: no longer read" for topic in facts.failed_mirrors)
    return Verdict(not reasons, tuple(reasons))


def liveness(facts: LivenessFacts, stall_timeout_s: float) -> Verdict:
    if facts.rebalancing or facts.waiting_declarations is None:
        # Restoring the version table may take long; restarting would start it over.
        return Verdict(True)
    stalled = (
        facts.waiting_declarations > 0
        and facts.oldest_waiting_s >= stall_timeout_s
        and facts.seconds_since_progress >= stall_timeout_s
    )
    if not stalled:
        return Verdict(True)
    return Verdict(
        False,
        (
            f"stalled: {facts.waiting_declarations} declarations waiting, the oldest for "
            f"{facts.oldest_waiting_s:.0f} s, nothing screened for "
            f"{facts.seconds_since_progress:.0f} s (stall timeout {stall_timeout_s:g} s)",
        ),
    )


@dataclass
class HealthTracker:
    """Facts about the worker's progress, recorded from the Faust app's callbacks."""

    lag_interval_s: float
    clock: Callable[[], float] = time.monotonic
    _completed: int = 0
    _progress_at: float = field(init=False)
    _lag: tuple[int, float] | None = None
    _lag_at: float | None = None

    def __post_init__(self) -> None:
        self._progress_at = self.clock()

    def rebalance_completed(self) -> None:
        """Partitions assigned and their version table restored: the waiting starts now."""
        self._completed += 1
        self._progress_at = self.clock()

    def screened(self) -> None:
        self._progress_at = self.clock()

    def lag_measured(self, lags: Sequence[PartitionLag]) -> None:
        waiting = sum(lag.messages for lag in lags)
        oldest = max((lag.seconds for lag in lags), default=0.0)
        self._lag = (waiting, oldest)
        self._lag_at = self.clock()

    def readiness_facts(
        self, rules_loaded: bool, failed_mirrors: tuple[str, ...] = ()
    ) -> ReadinessFacts:
        return ReadinessFacts(self._completed, rules_loaded, failed_mirrors)

    def liveness_facts(self, rebalancing: bool) -> LivenessFacts:
        """``rebalancing``: from the start of a rebalance until its tables are restored."""
        now = self.clock()
        fresh = self._lag_at is not None and (
            now - self._lag_at <= STALE_MEASUREMENTS * self.lag_interval_s
        )
        waiting, oldest = self._lag if fresh and self._lag is not None else (None, 0.0)
        return LivenessFacts(
            rebalancing=rebalancing,
            seconds_since_progress=now - self._progress_at,
            waiting_declarations=waiting,
            oldest_waiting_s=oldest,
        )
