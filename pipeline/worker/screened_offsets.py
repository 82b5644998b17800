"""Which offsets of each partition are screened, so that a commit never passes one that is not.

A partition starts at the offset the consumer was positioned at (the committed offset, or where
the reset policy put it). From there the screened prefix grows as batches are screened in order.
Offsets known to hold no record (transaction markers) count as screened. A batch screened beyond
a hole (records between were fetched but skipped, during a rebalance for instance) is kept aside
and joins the prefix once the hole is filled; until then nothing past the hole may be committed,
and the partition has to be read again from the end of its prefix.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field


@dataclass
class _Partition:
    next_offset: int  # every offset below it is screened or holds no record
    ahead: list[tuple[int, int]] = field(default_factory=list)  # [first, last] past a hole


class ScreenedOffsets:
    def __init__(self) -> None:
        self._partitions: dict[Hashable, _Partition] = {}

    def start(self, tp: Hashable, offset: int) -> None:
        """The consumer reads ``tp`` from ``offset`` on: everything below it is settled."""
        self._partitions[tp] = _Partition(offset)

    def keep_only(self, tps: Iterable[Hashable]) -> None:
        """Forget the partitions that are no longer assigned."""
        kept = set(tps)
        for tp in [tp for tp in self._partitions if tp not in kept]:
            del self._partitions[tp]

    def next_offset(self, tp: Hashable) -> int | None:
        """Where reading must resume so that nothing unscreened is skipped; None if unknown."""
        partition = self._partitions.get(tp)
        return None if partition is None else partition.next_offset

    def has_hole(self, tp: Hashable) -> bool:
        partition = self._partitions.get(tp)
        return partition is not None and bool(partition.ahead)

    def screened(self, tp: Hashable, first: int, last: int) -> range:
        """Offsets ``first``..``last`` are screened. Returns the offsets that join the screened
        prefix now (those may be committed): empty for a batch beyond a hole, for a batch
        screened before, and for a partition whose start is unknown."""
        return self._settle(tp, first, last)

    def no_records(self, tp: Hashable, first: int, last: int) -> range:
        """Offsets ``first``..``last`` hold no record (the consumer read past them)."""
        return self._settle(tp, first, last)

    def _settle(self, tp: Hashable, first: int, last: int) -> range:
        partition = self._partitions.get(tp)
        if partition is None or last < first:
            return range(0)
        begin = partition.next_offset
        if first > begin:
            partition.ahead.append((first, last))
            return range(0)
        end = max(begin, last + 1)
        waiting: list[tuple[int, int]] = []
        for ahead_first, ahead_last in sorted(partition.ahead):
            if ahead_first <= end:
                end = max(end, ahead_last + 1)
            else:
                waiting.append((ahead_first, ahead_last))
        partition.ahead = waiting
        partition.next_offset = end
        return range(begin, end)
