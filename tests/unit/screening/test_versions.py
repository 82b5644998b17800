"""Version bookkeeping per declaration id: what a version supersedes, and the open referral."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.screening.versions import (
    MAX_TRACKED_VERSIONS,
    Admission,
    Closure,
    VersionState,
    admit,
    hit_action,
)


def test_first_version_supersedes_nothing() -> None:
    admission, state = admit(None, 1)
    assert admission == Admission(superseded_versions=[], superseded_by=None)
    assert state == VersionState((1,), None)


def test_higher_version_supersedes_every_lower_one() -> None:
    admission, state = admit(VersionState((1, 3), open_hit=3), 4)
    assert admission == Admission([1, 3], None)
    assert state == VersionState((1, 3, 4), 3)  # the open hit is for the caller to change


def test_late_lower_version_is_superseded_by_the_newest() -> None:
    admission, state = admit(VersionState((1, 5), open_hit=5), 3)
    assert admission == Admission([1], 5)
    assert state == VersionState((1, 3, 5), 5)


def test_version_arriving_in_any_order_gives_sorted_state() -> None:
    state = None
    for version in (4, 2, 7, 1):
        _, state = admit(state, version)
    assert state == VersionState((1, 2, 4, 7), None)


@pytest.mark.parametrize(
    "state",
    [
        VersionState((1,), None),
        VersionState((1,), 1),
        VersionState((1, 2), 2),
        VersionState((1, 2, 3), None),
    ],
)
def test_redelivery_of_a_seen_version_gives_the_same_admission(state: VersionState) -> None:
    newest = max(state.versions)
    before = admit(VersionState(tuple(v for v in state.versions if v != newest)), newest)[0]
    admission, again = admit(state, newest)
    assert admission == before
    assert again == state


def test_state_is_bounded() -> None:
    state = None
    for version in range(1, MAX_TRACKED_VERSIONS + 11):
        _, state = admit(state, version)
    assert state is not None
    assert len(state.versions) == MAX_TRACKED_VERSIONS
    assert state.versions == tuple(range(11, MAX_TRACKED_VERSIONS + 11))
    admission, _ = admit(state, 2)  # long forgotten, still older than the newest
    assert admission.superseded_by == MAX_TRACKED_VERSIONS + 10


def test_superseded_versions_are_bounded_too() -> None:
    state = VersionState(tuple(range(1, MAX_TRACKED_VERSIONS + 1)))
    admission, new_state = admit(state, 10_000)
    assert len(admission.superseded_versions) == MAX_TRACKED_VERSIONS
    assert len(new_state.versions) == MAX_TRACKED_VERSIONS
    assert new_state.versions[-1] == 10_000


@pytest.mark.parametrize(
    ("open_hit", "referral", "invalidated", "expected"),
    [
        (None, True, False, "hit"),
        (1, True, False, "hit"),
        (None, False, False, "tombstone"),  # an earlier version exists: close it again
        (1, False, False, "tombstone"),
        (None, False, True, "tombstone"),
        (1, False, True, "tombstone"),
    ],
)
def test_hit_action(open_hit: int | None, referral: bool, invalidated: bool, expected: str) -> None:
    assert hit_action(VersionState((1, 2), open_hit), 2, referral, invalidated) == expected


def test_hit_action_for_a_first_clean_version_is_none() -> None:
    assert hit_action(VersionState((1,), None), 1, False, False) == "none"


@pytest.mark.parametrize(
    "state",
    [
        VersionState(()),
        VersionState((1, 2, 64)),
        VersionState((3,), open_hit=3),
        VersionState((3,), open_hit=3, open_kind="DNL", open_filer="DE123"),
        VersionState((1, 2), closed=Closure(2, 1, "RFI", "DE123")),
        VersionState((1, 2), closed=Closure(2, 1, None, None)),
    ],
)
def test_state_round_trips_through_json(state: VersionState) -> None:
    assert VersionState.from_json(state.to_json()) == state


def test_what_notices_need_is_written_only_when_set() -> None:
    # Most declarations are never referred: their state stays as small as before.
    assert VersionState((1,)).to_json() == {"versions": [1], "open_hit": None}
    assert VersionState((1,), 1, "HRCM", "DE1").to_json() == {
        "versions": [1],
        "open_hit": 1,
        "open_kind": "HRCM",
        "open_filer": "DE1",
    }


def test_admission_keeps_what_notices_need() -> None:
    state = VersionState((1,), 1, "HRCM", "DE1", Closure(1, 0, "RFI", "DE1"))
    _, admitted = admit(state, 2)
    assert admitted == VersionState((1, 2), 1, "HRCM", "DE1", Closure(1, 0, "RFI", "DE1"))


def test_state_from_partial_json() -> None:
    assert VersionState.from_json({}) == VersionState((), None)
    assert VersionState.from_json({"versions": [2, 1], "open_hit": None}) == VersionState((2, 1))


def test_a_state_copied_with_other_versions_or_assessment_keeps_every_other_field() -> None:
    state = VersionState(
        (1, 2), 2, "HRCM", "FILER-1", Closure(3, 1, "RFI", "FILER-1"), '{"version":2}'
    )
    assert {f.name for f in dataclasses.fields(VersionState)} == {
        "versions",
        "open_hit",
        "open_kind",
        "open_filer",
        "closed",
        "newest_assessment",
    }, "a new field must be copied by with_versions and keeping too"
    assert state.with_versions((1, 2, 3)) == dataclasses.replace(state, versions=(1, 2, 3))
    assert state.keeping('{"version":3}') == dataclasses.replace(
        state, newest_assessment='{"version":3}'
    )
    assert state.keeping(None) == dataclasses.replace(state, newest_assessment=None)
