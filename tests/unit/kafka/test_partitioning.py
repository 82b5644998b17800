from __future__ import annotations

from aiokafka.partitioner import murmur2 as aiokafka_murmur2  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from pipeline.kafka.partitioning import default_partitions, murmur2

# Kafka's own test vectors (UtilsTest.testMurmur2), as Java's signed ints.
KAFKA_CASES = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


def test_kafkas_own_vectors() -> None:
    keys = list(KAFKA_CASES)
    assert [signed(int(h)) for h in murmur2(keys)] == list(KAFKA_CASES.values())


@given(st.lists(st.binary(max_size=80), max_size=60))
def test_every_key_hashes_as_the_one_key_implementation(keys: list[bytes]) -> None:
    """Keys of every length, mixed in one batch, in any order (all tails, bytes >= 0x80)."""
    assert [int(h) for h in murmur2(keys)] == [aiokafka_murmur2(k) for k in keys]


@given(st.lists(st.text(max_size=40), max_size=40), st.integers(min_value=1, max_value=500))
def test_partitions_are_java_clients(ids: list[str], partitions: int) -> None:
    keys = [i.encode() for i in ids]
    expected = [(aiokafka_murmur2(k) & 0x7FFFFFFF) % partitions for k in keys]
    assert default_partitions(keys, partitions) == expected


def test_an_empty_batch_and_an_empty_key() -> None:
    assert default_partitions([], 8) == []
    assert default_partitions([b""], 8) == [(aiokafka_murmur2(b"") & 0x7FFFFFFF) % 8]
