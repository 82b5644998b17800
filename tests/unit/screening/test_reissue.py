"""The compacted assessments topic ends with the newest version's assessment.

An older version that arrives after a newer one is assessed and published, and the newest
version's assessment, kept in the version state, is published again after it. The states go
through JSON as the worker's version table stores them.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pytest

from pipeline import topics
from pipeline.records import InputRecord, OutputRecord
from pipeline.screening import batch
from pipeline.screening.batch import BatchResult
from pipeline.screening.versions import Closure, VersionState, admit
from tests.unit.screening.test_batch import ARMS, assessment_of, declaration, record, screener


class JsonLedger:
    """Version state as JSON bytes, written and read back as the worker's table does."""

    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}

    def get(self, declaration_id: str, partition: int) -> VersionState | None:
        raw = self.stored.get(declaration_id)
        return VersionState.from_json(orjson.loads(raw)) if raw is not None else None

    def put(self, declaration_id: str, partition: int, state: VersionState) -> None:
        self.stored[declaration_id] = orjson.dumps(state.to_json())


@pytest.fixture
def ledger() -> JsonLedger:
    return JsonLedger()


def screen(records: Sequence[InputRecord], ledger: JsonLedger) -> BatchResult:
    return screener().screen(records, ledger)


def version(number: int, **fields: object) -> InputRecord:
    kind = "FILING" if number == 1 else "AMENDMENT"
    return record(declaration(version=number, message_type=kind, **fields))


def assessments(*results: BatchResult) -> list[OutputRecord]:
    return [o for result in results for o in result.outputs if o.topic == topics.ASSESSMENTS]


def last_of_key(outputs: Sequence[OutputRecord], key: bytes = b"D1") -> bytes | None:
    """What a compacted reader of the assessments topic keeps for ``key``."""
    return [o.value for o in outputs if o.topic == topics.ASSESSMENTS and o.key == key][-1]


def test_a_late_older_version_is_followed_by_the_newest_assessment(ledger: JsonLedger) -> None:
    newer = screen([version(2, hs_code=ARMS)], ledger)
    late = screen([version(1)], ledger)
    (v2,) = assessments(newer)
    own, again = assessments(late)
    first = assessment_of(own)
    assert (first.version, first.superseded_by, first.outcome) == (1, 2, "ASSESSMENT_COMPLETE")
    assert again == v2  # the exact bytes published for version 2
    assert last_of_key(newer.outputs + late.outputs) == v2.value
    assert (late.superseded, late.reissued, late.reissue_unavailable) == (1, 1, 0)
    assert late.outcomes == {"ASSESSMENT_COMPLETE": 1}  # one assessment made, one re-issued
    # Only the assessment comes again: no hit, no notice for the late version.
    assert [o.topic for o in late.outputs] == [topics.ASSESSMENTS, topics.ASSESSMENTS]


def test_a_late_older_version_in_the_same_batch_is_followed_by_the_newest(
    ledger: JsonLedger,
) -> None:
    result = screen([version(2, hs_code=ARMS), version(1)], ledger)
    v2, v1, again = assessments(result)
    assert assessment_of(v1).superseded_by == 2
    assert again == v2
    assert last_of_key(result.outputs) == v2.value


def test_versions_one_three_two_end_with_three(ledger: JsonLedger) -> None:
    result = screen([version(1), version(3, hs_code=ARMS), version(2)], ledger)
    v1, v3, v2, again = assessments(result)
    assert [assessment_of(o).version for o in (v1, v3, v2)] == [1, 3, 2]
    assert assessment_of(v2).superseded_by == 3
    assert again == v3
    assert last_of_key(result.outputs) == v3.value
    assert result.reissued == 1


def test_versions_one_three_two_in_separate_batches_end_with_three(ledger: JsonLedger) -> None:
    results = [screen([r], ledger) for r in (version(1), version(3, hs_code=ARMS), version(2))]
    (v3,) = assessments(results[1])
    assert assessments(results[2])[-1] == v3
    assert last_of_key([o for r in results for o in r.outputs]) == v3.value


def test_a_late_version_after_an_invalidation_ends_with_the_invalidation(
    ledger: JsonLedger,
) -> None:
    screen([version(1)], ledger)
    invalidated = screen([record(declaration(version=3, message_type="INVALIDATION"))], ledger)
    late = screen([version(2)], ledger)
    assert assessment_of(assessments(late)[-1]).outcome == "INVALIDATED"
    assert assessments(late)[-1] == assessments(invalidated)[0]


def test_redelivery_of_a_late_version_in_the_next_batch_gives_the_same_outputs(
    ledger: JsonLedger,
) -> None:
    screen([version(3, hs_code=ARMS)], ledger)
    first = screen([version(2)], ledger)
    again = screen([version(2)], ledger)
    assert again.outputs == first.outputs
    assert again.reissued == first.reissued == 1


def test_redelivery_of_a_late_version_in_the_same_batch_gives_the_same_outputs(
    ledger: JsonLedger,
) -> None:
    screen([version(3, hs_code=ARMS)], ledger)
    result = screen([version(2), version(2)], ledger)
    assert len(result.outputs) == 4
    assert result.outputs[:2] == result.outputs[2:]
    assert result.reissued == 2


def test_redelivery_of_the_newest_version_keeps_what_is_reissued(ledger: JsonLedger) -> None:
    screen([version(1)], ledger)
    first = screen([version(2, hs_code=ARMS)], ledger)
    stored = ledger.stored["D1"]
    again = screen([version(2, hs_code=ARMS)], ledger)
    assert again.outputs == first.outputs
    assert ledger.stored["D1"] == stored
    late = screen([version(1)], ledger)
    assert assessments(late)[-1] == assessments(first)[0]


def test_a_state_from_before_the_assessment_was_kept_takes_a_late_version(
    ledger: JsonLedger,
) -> None:
    # As written before: no newest_assessment in the JSON.
    ledger.stored["D1"] = orjson.dumps({"versions": [2], "open_hit": 2, "open_kind": "HRCM"})
    result = screen([version(1)], ledger)
    (own,) = assessments(result)
    assert assessment_of(own).superseded_by == 2
    assert (result.superseded, result.reissued, result.reissue_unavailable) == (1, 0, 1)
    # Nothing to publish again, and nothing made up: the state still keeps none.
    state = ledger.get("D1", 0)
    assert state == VersionState((1, 2), open_hit=2, open_kind="HRCM")
    # The next newest version is kept again.
    newer = screen([version(3)], ledger)
    state = ledger.get("D1", 0)
    assert state is not None
    assert state.newest_assessment == (assessments(newer)[0].value or b"").decode()


def test_the_kept_assessment_round_trips_through_the_state_json() -> None:
    text = '{"declaration_id":"D1","version":2,"outcome":"RFI","note":"\\u00e9 \\"q\\""}'
    state = VersionState(
        (1, 2),
        open_hit=2,
        open_kind="RFI",
        open_filer="F",
        closed=Closure(2, 1, "HRCM", "F"),
        newest_assessment=text,
    )
    data = state.to_json()
    assert data["newest_assessment"] == text
    assert VersionState.from_json(orjson.loads(orjson.dumps(data))) == state


def test_a_state_without_a_kept_assessment_writes_no_field() -> None:
    state = VersionState((1,))
    assert "newest_assessment" not in state.to_json()
    assert VersionState.from_json({"versions": [1], "open_hit": None}) == state
    assert VersionState.from_json({"versions": [1], "newest_assessment": 7}) == state


def test_admitting_a_version_keeps_the_kept_assessment() -> None:
    _, state = admit(VersionState((3,), newest_assessment="{}"), 2)
    assert state == VersionState((2, 3), newest_assessment="{}")


def test_a_first_version_keeps_no_copy_for_nothing_can_arrive_late_behind_it(
    ledger: JsonLedger,
) -> None:
    screen([version(1, hs_code=ARMS)], ledger)
    state = ledger.get("D1", 0)
    assert state is not None
    assert state.newest_assessment is None
    assert b"newest_assessment" not in ledger.stored["D1"]


def test_an_assessment_too_large_to_keep_is_not_kept_and_a_late_version_is_counted(
    ledger: JsonLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "MAX_KEPT_ASSESSMENT_BYTES", 100)
    screen([version(2)], ledger)
    state = ledger.get("D1", 0)
    assert state is not None
    assert state.newest_assessment is None
    late = screen([version(1)], ledger)
    assert (late.reissued, late.reissue_unavailable) == (0, 1)


def test_a_newest_version_too_large_to_keep_drops_the_copy_of_the_one_it_supersedes(
    ledger: JsonLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older version's copy left in the state would be published as the newest."""
    screen([version(2)], ledger)
    monkeypatch.setattr(batch, "MAX_KEPT_ASSESSMENT_BYTES", 100)
    screen([version(3)], ledger)
    late = screen([version(1)], ledger)
    assert (late.reissued, late.reissue_unavailable) == (0, 1)
    (own,) = assessments(late)
    assert assessment_of(own).superseded_by == 3
