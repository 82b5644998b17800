"""Version state kept in a Faust table whose changelog the worker writes itself.

Each write goes to the changelog partition of the declaration record it came from (Faust would
take the partition of the batch's last event). The changelog records are produced by the
worker's own producer together with the batch's outputs, and acknowledged with them before the
batch's offsets can be committed: one producer round trip per batch instead of Faust's
per-record sends. On a restart or a rebalance Faust rebuilds the table from that changelog.
"""

from __future__ import annotations

from typing import Any

import orjson

from pipeline.screening.batch import OutputRecord
from pipeline.screening.versions import VersionState


class TableLedger:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._changelog = table.changelog_topic.get_topic_name()
        self._pending: list[OutputRecord] = []

    def get(self, declaration_id: str) -> VersionState | None:
        raw = self._table.data.get(declaration_id)
        return VersionState.from_json(raw) if raw is not None else None

    def put(self, declaration_id: str, partition: int, state: VersionState) -> None:
        value = state.to_json()
        self._table.data[declaration_id] = value
        # The table's serialisers are JSON for keys and values, which is what Faust reads back.
        self._pending.append(
            OutputRecord(
                self._changelog, orjson.dumps(declaration_id), orjson.dumps(value), partition
            )
        )

    def drain(self) -> list[OutputRecord]:
        """The changelog records written since the last call, to be produced with the batch."""
        pending, self._pending = self._pending, []
        return pending
