"""The handled-offsets account: what may be committed, and where reading must resume."""

from __future__ import annotations

from pipeline.worker.handled_offsets import HandledOffsets

TP = ("customs.declarations.v1", 0)


def account(start: int = 0) -> HandledOffsets:
    offsets = HandledOffsets()
    offsets.start(TP, start)
    return offsets


def test_batches_in_order_extend_the_prefix() -> None:
    offsets = account(10)
    assert offsets.handled(TP, 10, 14) == range(10, 15)
    assert offsets.handled(TP, 15, 15) == range(15, 16)
    assert offsets.next_offset(TP) == 16
    assert not offsets.beyond_prefix(TP, 16)


def test_a_batch_beyond_a_hole_is_not_committed_and_is_read_again() -> None:
    """Records 38..845 were fetched and skipped; 846.. were screened: nothing past 38 may be
    committed, and reading resumes at 38."""
    offsets = account(38)
    assert offsets.beyond_prefix(TP, 846)
    assert offsets.handled(TP, 846, 900) == range(0)
    assert offsets.next_offset(TP) == 38
    # Read again from 38: the refetched records extend the prefix up to where they end; the
    # batch screened beyond the hole does not join it, so it is read and screened again.
    assert not offsets.beyond_prefix(TP, 38)
    assert offsets.handled(TP, 38, 845) == range(38, 846)
    assert offsets.next_offset(TP) == 846


def test_a_partial_refill_resumes_where_the_refill_ends() -> None:
    """A declaration's version 1 at offset 40 and version 3 at offset 870, both screened once
    beyond the hole: a refill that ends at 845 must not let 870 count as screened, or version 1
    would be the last assessment written for that declaration."""
    offsets = account(38)
    offsets.handled(TP, 846, 900)
    assert offsets.handled(TP, 38, 845) == range(38, 846)
    assert offsets.beyond_prefix(TP, 901)
    assert offsets.handled(TP, 846, 900) == range(846, 901)


def test_screening_again_what_was_screened_commits_nothing_new() -> None:
    offsets = account(0)
    offsets.handled(TP, 0, 9)
    assert offsets.handled(TP, 0, 9) == range(0)
    assert offsets.handled(TP, 5, 12) == range(10, 13)


def test_offsets_without_records_count_as_screened() -> None:
    """A transaction marker at offset 10: the consumer reads past it, it never holds back."""
    offsets = account(0)
    offsets.handled(TP, 0, 9)
    assert offsets.no_records(TP, 10, 10) == range(10, 11)
    assert offsets.handled(TP, 11, 20) == range(11, 21)


def test_a_marker_beyond_a_hole_is_read_past_again() -> None:
    offsets = account(0)
    assert offsets.no_records(TP, 10, 10) == range(0)
    assert offsets.handled(TP, 11, 20) == range(0)
    assert offsets.next_offset(TP) == 0
    assert offsets.handled(TP, 0, 9) == range(0, 10)


def test_an_unknown_partition_commits_nothing() -> None:
    offsets = HandledOffsets()
    assert offsets.handled(TP, 0, 9) == range(0)
    assert offsets.next_offset(TP) is None
    assert not offsets.beyond_prefix(TP, 0)


def test_a_new_start_moves_the_prefix() -> None:
    offsets = account(0)
    offsets.start(TP, 30)
    assert offsets.beyond_prefix(TP, 31)
    assert offsets.handled(TP, 30, 40) == range(30, 41)


def test_partitions_no_longer_assigned_are_forgotten() -> None:
    other = ("customs.declarations.v1", 1)
    offsets = account(0)
    offsets.start(other, 5)
    offsets.keep_only([other])
    assert offsets.next_offset(TP) is None
    assert offsets.next_offset(other) == 5
