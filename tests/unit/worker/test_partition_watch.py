"""When a batched partition counts as stalled: records waiting, and no movement for a while."""

from __future__ import annotations

from pipeline.worker.partition_watch import StallWatch

TP = ("declarations", 0)


def test_a_partition_with_records_waiting_that_does_not_move_is_stalled_once_per_period() -> None:
    watch = StallWatch(after_s=60)
    watch.moved(TP, now=100)
    assert not watch.stalled(TP, waiting=True, now=159)
    assert watch.still_for(TP, now=159) == 59
    assert watch.stalled(TP, waiting=True, now=160)
    # Reported, and read again: a new period starts.
    assert not watch.stalled(TP, waiting=True, now=219)
    assert watch.stalled(TP, waiting=True, now=220)


def test_a_partition_that_moves_is_not_stalled() -> None:
    watch = StallWatch(after_s=60)
    for now in range(0, 600, 30):
        watch.moved(TP, now)
        assert not watch.stalled(TP, waiting=True, now=now + 29)


def test_an_idle_partition_is_not_stalled_when_a_record_arrives() -> None:
    watch = StallWatch(after_s=60)
    watch.moved(TP, now=0)
    assert not watch.stalled(TP, waiting=False, now=3600)
    # A record arrives after an hour's quiet: its clock starts at the last look.
    assert not watch.stalled(TP, waiting=True, now=3605)
    assert watch.stalled(TP, waiting=True, now=3660)


def test_a_partition_first_seen_waiting_starts_its_clock_then() -> None:
    watch = StallWatch(after_s=60)
    assert watch.still_for(TP, now=10) == 0
    assert not watch.stalled(TP, waiting=True, now=10)
    assert watch.stalled(TP, waiting=True, now=70)


def test_partitions_no_longer_assigned_are_forgotten() -> None:
    watch = StallWatch(after_s=60)
    other = ("declarations", 1)
    watch.moved(TP, now=0)
    watch.moved(other, now=0)
    watch.keep_only([other])
    assert watch.still_for(TP, now=100) == 0
    assert watch.still_for(other, now=100) == 100
