"""Which offsets of each partition are handled (their outputs stored), so that a commit never
passes one that is not.

A partition starts at the offset the consumer was positioned at (the committed offset, or where
the reset policy put it). From there the handled prefix grows as batches are handled in order.
Offsets known to hold no record (transaction markers) count as handled.

A batch handled beyond a hole (records between were fetched but skipped, during a rebalance for
instance) never joins the prefix: the partition is read again from the end of its prefix, that
batch included. Keeping it aside until the hole is filled would commit less work twice, but the
refill would then screen a declaration's older version after its newer one was already written,
and the compacted assessments topic would keep the older assessment. Reading the whole suffix
again writes every declaration's outputs again in offset order, so its newest version ends last.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable


class HandledOffsets:
    def __init__(self) -> None:
        # Per partition, the first offset not yet handled: every offset below it is handled
        # or holds no record.
        self._next: dict[Hashable, int] = {}

    def start(self, tp: Hashable, offset: int) -> None:
        """The consumer reads ``tp`` from ``offset`` on: everything below it is settled."""
        self._next[tp] = offset

    def keep_only(self, tps: Iterable[Hashable]) -> None:
        """Forget the partitions that are no longer assigned."""
        kept = set(tps)
        for tp in [tp for tp in self._next if tp not in kept]:
            del self._next[tp]

    def next_offset(self, tp: Hashable) -> int | None:
        """Where reading must resume so that nothing unhandled is skipped; None if unknown."""
        return self._next.get(tp)

    def beyond_prefix(self, tp: Hashable, first: int) -> bool:
        """A batch starting at ``first`` lies past a hole: the partition must be read again."""
        begin = self._next.get(tp)
        return begin is not None and first > begin

    def handled(self, tp: Hashable, first: int, last: int) -> range:
        """Offsets ``first``..``last`` are handled. Returns the offsets that join the handled
        prefix now (those may be committed): empty for a batch beyond a hole, for a batch
        handled before, and for a partition whose start is unknown."""
        return self._settle(tp, first, last)

    def no_records(self, tp: Hashable, first: int, last: int) -> range:
        """Offsets ``first``..``last`` hold no record (the consumer read past them)."""
        return self._settle(tp, first, last)

    def _settle(self, tp: Hashable, first: int, last: int) -> range:
        begin = self._next.get(tp)
        if begin is None or last < first or first > begin:
            return range(0)
        end = max(begin, last + 1)
        self._next[tp] = end
        return range(begin, end)
