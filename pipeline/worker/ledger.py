"""Version state kept in a Faust table, written per record to the record's own partition.

Faust derives a table key's changelog partition from the *current* event, which in a batch is
the last one taken; a batch spans partitions, so each write names its partition explicitly.
"""

from __future__ import annotations

from typing import Any

from pipeline.screening.versions import VersionState


class TableLedger:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, declaration_id: str) -> VersionState | None:
        raw = self._table.data.get(declaration_id)
        return VersionState.from_json(raw) if raw is not None else None

    def put(self, declaration_id: str, partition: int, state: VersionState) -> None:
        value = state.to_json()
        self._table.data[declaration_id] = value
        self._table.send_changelog(partition, declaration_id, value)
