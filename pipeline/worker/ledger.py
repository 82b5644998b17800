"""Version state kept in a Faust table on disk (``table_store.PartitionedTableStore``).

Each write goes to the table partition of the declaration record it came from; the batch's
writes reach the changelog through the worker's own producer, together with the batch's outputs,
and are acknowledged with them before the batch's offsets can be committed: one producer round
trip per batch instead of Faust's per-record sends. Keys and values are JSON, as Faust's table
serialisers write them, so Faust's recovery reads the changelog back into the same form.
"""

from __future__ import annotations

import orjson

from pipeline.screening.versions import VersionState
from pipeline.worker.table_store import PartitionedTableStore


class TableLedger:
    def __init__(self, tables: PartitionedTableStore) -> None:
        self.tables = tables  # drained and persisted by the batch handler

    def get(self, declaration_id: str, partition: int) -> VersionState | None:
        raw = self.tables.get(orjson.dumps(declaration_id), partition)
        return VersionState.from_json(orjson.loads(raw)) if raw is not None else None

    def put(self, declaration_id: str, partition: int, state: VersionState) -> None:
        self.tables.put(orjson.dumps(declaration_id), partition, orjson.dumps(state.to_json()))
