"""The open-loop send schedule: message i is due at t0 + i / rate, whatever happened before.

A sender that waits for the system under test (closed loop) sends less when it slows down and
so hides the delays it causes (coordinated omission). Here the due times never move; a sender
that cannot keep up is reported as behind instead. Latency is measured from each message's due
time on the wall clock (``due_wall``), not from when it actually left: a message the sender put
out late still counts the wait it had before it left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class OpenLoopSchedule:
    rate_per_s: float
    started_at: float  # monotonic clock
    # The wall clock (time.time()) read together with ``started_at``; None when not given.
    wall_started_at: float | None = None
    # How late the sender was at worst, and how many messages left over `late_after_s` late.
    worst_lateness_s: float = 0.0
    late_messages: int = 0
    late_after_s: float = 0.005
    _sent: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0:
            raise ValueError(f"rate must be positive, got {self.rate_per_s}")

    @classmethod
    def starting_now(cls, rate_per_s: float) -> OpenLoopSchedule:
        """A schedule from now, on the monotonic clock and on the wall clock."""
        return cls(rate_per_s, time.monotonic(), wall_started_at=time.time())

    def due(self, index: int) -> float:
        """When message ``index`` is due, on the monotonic clock (for waiting)."""
        return self.started_at + index / self.rate_per_s

    def due_wall(self, index: int) -> float:
        """When message ``index`` is due, on the wall clock: the send time latency is measured
        from, comparable with the broker's timestamps (same machine)."""
        if self.wall_started_at is None:
            raise ValueError("the schedule was made without a wall-clock start")
        return self.wall_started_at + index / self.rate_per_s

    def wait_s(self, index: int, now: float) -> float:
        """How long to sleep before message ``index`` (0 when it is due or overdue)."""
        return max(0.0, self.due(index) - now)

    def record_send(self, index: int, now: float) -> None:
        """Note when message ``index`` actually left, to report a sender that fell behind."""
        lateness = now - self.due(index)
        self._sent += 1
        if lateness > self.worst_lateness_s:
            self.worst_lateness_s = lateness
        if lateness > self.late_after_s:
            self.late_messages += 1

    @property
    def sent(self) -> int:
        return self._sent

    @property
    def late_share(self) -> float:
        return self.late_messages / self._sent if self._sent else 0.0
