"""Where Kafka's default partitioner puts keys: murmur2 of the key, as Java clients, Kafka
Streams and the pipeline's own producer (``murmur2_random``) compute it.

``expected_partition`` places one key. ``default_partitions`` hashes a whole batch of keys at
once with numpy: keys of one length are hashed together, four bytes of every key per step. One
key at a time in Python costs a few microseconds, which the screening batch paid for every
declaration.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from aiokafka.partitioner import murmur2 as murmur2_of_one  # type: ignore[import-untyped]

__all__ = ["default_partitions", "expected_partition", "murmur2"]

_SEED = 0x9747B28C
_M = np.uint32(0x5BD1E995)
_R = np.uint32(24)


def expected_partition(key: bytes, partitions: int) -> int:
    """The partition of one key (aiokafka's murmur2: for one key, cheaper than numpy's)."""
    return (int(murmur2_of_one(key)) & 0x7FFFFFFF) % partitions


def default_partitions(keys: Sequence[bytes], partitions: int) -> list[int]:
    """The partition of each key among ``partitions``: murmur2, made positive, modulo."""
    hashes = murmur2(keys) & np.uint32(0x7FFFFFFF)
    return (hashes % np.uint32(partitions)).tolist()  # type: ignore[no-any-return]


def murmur2(keys: Sequence[bytes]) -> npt.NDArray[np.uint32]:
    """Kafka's murmur2 (``org.apache.kafka.common.utils.Utils.murmur2``) of each key, as
    unsigned 32-bit integers."""
    hashes = np.empty(len(keys), dtype=np.uint32)
    by_length: dict[int, list[int]] = {}
    for index, key in enumerate(keys):
        by_length.setdefault(len(key), []).append(index)
    for length, indexes in by_length.items():
        hashes[indexes] = _murmur2_of_length([keys[i] for i in indexes], length)
    return hashes


def _murmur2_of_length(keys: list[bytes], length: int) -> npt.NDArray[np.uint32]:
    """murmur2 of keys that are all ``length`` bytes long. Arithmetic on uint32 arrays wraps
    at 2**32, as Java's int arithmetic does."""
    data = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), length)
    h = np.full(len(keys), (_SEED ^ length) & 0xFFFFFFFF, dtype=np.uint32)
    whole = length // 4 * 4
    # Each row's four-byte blocks as little-endian words.
    words = np.ascontiguousarray(data[:, :whole]).view("<u4")
    for block in range(whole // 4):
        k = words[:, block] * _M
        k ^= k >> _R
        k *= _M
        h *= _M
        h ^= k
    tail = length - whole
    if tail >= 3:
        h ^= data[:, whole + 2].astype(np.uint32) << np.uint32(16)
    if tail >= 2:
        h ^= data[:, whole + 1].astype(np.uint32) << np.uint32(8)
    if tail >= 1:
        h ^= data[:, whole].astype(np.uint32)
        h *= _M
    h ^= h >> np.uint32(13)
    h *= _M
    h ^= h >> np.uint32(15)
    return h
