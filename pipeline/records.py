"""The records that cross the boundary between Kafka and the pipeline's pure functions.

The bottom floor: every layer that reads or writes topics speaks these, and they import
nothing of the project.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InputRecord", "OutputRecord"]


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One record read from a topic."""

    topic: str
    key: bytes | None
    value: bytes | None  # None is a tombstone
    partition: int
    offset: int
    timestamp_ms: int | None = None  # the Kafka record's timestamp; None when it has none


@dataclass(frozen=True, slots=True)
class OutputRecord:
    """One record to produce."""

    topic: str
    key: bytes | None
    value: bytes | None  # None is a tombstone
    partition: int | None = None  # None: the producer's partitioner picks it from the key
