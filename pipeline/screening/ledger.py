"""Version state in a dict: the worker's version table for screening without a broker."""

from __future__ import annotations

from pipeline.screening.versions import VersionState

__all__ = ["DictLedger"]


class DictLedger:
    """Records the partition each id was written from, as the worker's table does."""

    def __init__(self) -> None:
        self.states: dict[str, VersionState] = {}
        self.partitions: dict[str, int] = {}

    def get(self, declaration_id: str, partition: int) -> VersionState | None:
        return self.states.get(declaration_id)

    def put(self, declaration_id: str, partition: int, state: VersionState) -> None:
        self.states[declaration_id] = state
        self.partitions[declaration_id] = partition
