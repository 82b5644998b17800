"""The screened-offsets account: what may be committed, and where reading must resume."""

from __future__ import annotations

from pipeline.worker.screened_offsets import ScreenedOffsets

TP = ("customs.declarations.v1", 0)


def account(start: int = 0) -> ScreenedOffsets:
    offsets = ScreenedOffsets()
    offsets.start(TP, start)
    return offsets


def test_batches_in_order_extend_the_prefix() -> None:
    offsets = account(10)
    assert offsets.screened(TP, 10, 14) == range(10, 15)
    assert offsets.screened(TP, 15, 15) == range(15, 16)
    assert offsets.next_offset(TP) == 16
    assert not offsets.has_hole(TP)


def test_a_batch_beyond_a_hole_is_not_committed_until_the_hole_is_screened() -> None:
    """Records 38..845 were fetched and skipped; 846.. were screened: nothing past 38 may be
    committed, and reading resumes at 38."""
    offsets = account(38)
    assert offsets.screened(TP, 846, 900) == range(0)
    assert offsets.has_hole(TP)
    assert offsets.next_offset(TP) == 38
    # Read again from 38: the refetched records fill the hole and the batch beyond joins.
    assert offsets.screened(TP, 38, 845) == range(38, 901)
    assert offsets.next_offset(TP) == 901
    assert not offsets.has_hole(TP)


def test_a_partial_refill_leaves_the_rest_waiting() -> None:
    offsets = account(0)
    offsets.screened(TP, 50, 59)
    offsets.screened(TP, 80, 89)
    assert offsets.screened(TP, 0, 49) == range(0, 60)
    assert offsets.has_hole(TP)
    assert offsets.next_offset(TP) == 60
    assert offsets.screened(TP, 60, 85) == range(60, 90)
    assert not offsets.has_hole(TP)


def test_screening_again_what_was_screened_commits_nothing_new() -> None:
    offsets = account(0)
    offsets.screened(TP, 0, 9)
    assert offsets.screened(TP, 0, 9) == range(0)
    assert offsets.screened(TP, 5, 12) == range(10, 13)


def test_offsets_without_records_count_as_screened() -> None:
    """A transaction marker at offset 10: the consumer reads past it, it never holds back."""
    offsets = account(0)
    offsets.screened(TP, 0, 9)
    assert offsets.no_records(TP, 10, 10) == range(10, 11)
    assert offsets.screened(TP, 11, 20) == range(11, 21)


def test_a_marker_beyond_a_hole_waits_with_the_batch_after_it() -> None:
    offsets = account(0)
    offsets.no_records(TP, 10, 10)
    offsets.screened(TP, 11, 20)
    assert offsets.next_offset(TP) == 0
    assert offsets.screened(TP, 0, 9) == range(0, 21)


def test_an_unknown_partition_commits_nothing() -> None:
    offsets = ScreenedOffsets()
    assert offsets.screened(TP, 0, 9) == range(0)
    assert offsets.next_offset(TP) is None
    assert not offsets.has_hole(TP)


def test_a_new_start_forgets_what_lay_beyond_a_hole() -> None:
    offsets = account(0)
    offsets.screened(TP, 50, 59)
    offsets.start(TP, 30)
    assert not offsets.has_hole(TP)
    assert offsets.screened(TP, 30, 40) == range(30, 41)


def test_partitions_no_longer_assigned_are_forgotten() -> None:
    other = ("customs.declarations.v1", 1)
    offsets = account(0)
    offsets.start(other, 5)
    offsets.keep_only([other])
    assert offsets.next_offset(TP) is None
    assert offsets.next_offset(other) == 5
