"""Which batched partitions have had records waiting, and not moved, for too long.

A partition moves when a batch of it is delivered, when its handled prefix grows, and when it
is sought. One with records waiting (not fetched yet, or delivered and not handled) that does
not move is stalled:
whatever left it unread (a seek undone, flow control that never let it go), nothing else will
read it until the next rebalance, and the only sign would be its lag. The consumer reads such a
partition again from the end of its prefix, with a warning (see ``transport.py``).

The clock of a partition with nothing waiting is kept at the present, so that a partition idle
for hours is not taken for stalled when a record arrives.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable


class StallWatch:
    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        # Per partition, since when it has had records waiting without moving.
        self._still_since: dict[Hashable, float] = {}

    def moved(self, tp: Hashable, now: float) -> None:
        self._still_since[tp] = now

    def keep_only(self, tps: Iterable[Hashable]) -> None:
        """Forget the partitions that are no longer assigned."""
        kept = set(tps)
        for tp in [tp for tp in list(self._still_since) if tp not in kept]:
            del self._still_since[tp]

    def still_for(self, tp: Hashable, now: float) -> float:
        """How long ``tp`` has not moved (0 for a partition not seen yet)."""
        return now - self._still_since.get(tp, now)

    def stalled(self, tp: Hashable, waiting: bool, now: float) -> bool:
        """Whether ``tp`` has had records waiting, without moving, for ``after_s`` or more.
        A partition found stalled starts a new period, so it is reported once per period."""
        if not waiting:
            self._still_since[tp] = now
            return False
        since = self._still_since.setdefault(tp, now)
        if now - since < self.after_s:
            return False
        self._still_since[tp] = now
        return True
