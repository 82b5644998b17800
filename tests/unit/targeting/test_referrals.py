"""Open referrals: one per declaration, withdrawn by tombstones, filtered, ranked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from pipeline.targeting.referrals import HitFilter, OpenReferrals, Shown, Withdrawn, rank_key

PRIORITY = {"DNL": 1, "HRCM": 2, "RFI": 3}


def hit(
    declaration_id: str,
    outcome: str = "RFI",
    score: float = 30,
    version: int = 1,
    rules: tuple[str, ...] = ("R1",),
    assessed_at: str = "2026-11-27T10:00:00.000Z",
) -> dict[str, Any]:
    return {
        "declaration_id": declaration_id,
        "version": version,
        "outcome": outcome,
        "score": score,
        "priority": PRIORITY[outcome],
        "matches": [{"rule_id": r, "action": "SCORE", "score": 10, "reason": "r"} for r in rules],
        "assessed_at": assessed_at,
    }


def record(document: dict[str, Any]) -> tuple[bytes, bytes]:
    return document["declaration_id"].encode(), orjson.dumps(document)


def test_dnl_then_hrcm_then_rfi_then_higher_score_then_longest_waiting() -> None:
    referrals = OpenReferrals()
    for document in [
        hit("A", "RFI", 90),
        hit("B", "HRCM", 10),
        hit("C", "DNL", 0),
        hit("D", "RFI", 95),
        hit("E", "RFI", 90, assessed_at="2026-11-27T09:00:00.000Z"),
    ]:
        referrals.apply(*record(document))
    assert [h["declaration_id"] for h in referrals.ranked()] == ["C", "B", "D", "E", "A"]


def test_rank_key_falls_back_to_the_outcome_without_priority() -> None:
    without = {"declaration_id": "X", "outcome": "DNL", "score": 1}
    assert rank_key(without)[0] == 1


def test_a_newer_version_replaces_the_open_referral() -> None:
    referrals = OpenReferrals()
    referrals.apply(*record(hit("A", "RFI", version=1)))
    change = referrals.apply(*record(hit("A", "DNL", version=2)))
    assert isinstance(change, Shown)
    assert change.hit["version"] == 2
    assert len(referrals) == 1
    assert referrals.ranked()[0]["outcome"] == "DNL"


def test_a_tombstone_withdraws_the_referral() -> None:
    referrals = OpenReferrals()
    referrals.apply(*record(hit("A", version=2)))
    change = referrals.apply(b"A", None)
    assert change == Withdrawn("A", 2, "closed")
    assert change.as_json() == {
        "withdrawn": True,
        "declaration_id": "A",
        "version": 2,
        "reason": "closed",
    }
    assert len(referrals) == 0


def test_a_tombstone_for_a_referral_never_shown_changes_nothing() -> None:
    referrals = OpenReferrals()
    assert referrals.apply(b"A", None) is None
    assert referrals.apply(None, b"{}") is None


def test_outcome_filter() -> None:
    referrals = OpenReferrals(HitFilter(outcomes={"DNL", "HRCM"}))
    assert referrals.apply(*record(hit("A", "RFI"))) is None
    assert isinstance(referrals.apply(*record(hit("B", "HRCM"))), Shown)
    assert [h["declaration_id"] for h in referrals.ranked()] == ["B"]


def test_rule_filter_takes_any_of_the_rules() -> None:
    referrals = OpenReferrals(HitFilter(rules={"WL-DNL", "HS-ARMS-93"}))
    referrals.apply(*record(hit("A", rules=("HS-ARMS-93", "ROUTE-X"))))
    referrals.apply(*record(hit("B", rules=("ROUTE-X",))))
    referrals.apply(*record(hit("C", rules=("WL-DNL",))))
    assert sorted(h["declaration_id"] for h in referrals.ranked()) == ["A", "C"]


def test_since_filter_on_the_assessment_time() -> None:
    since = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    referrals = OpenReferrals(HitFilter(since=since))
    referrals.apply(*record(hit("old", assessed_at="2026-11-27T09:59:59.999Z")))
    referrals.apply(*record(hit("exact", assessed_at="2026-11-27T10:00:00.000Z")))
    referrals.apply(*record(hit("zoned", assessed_at="2026-11-27T11:00:00+01:00")))
    referrals.apply(*record(hit("zoned-old", assessed_at="2026-11-27T10:30:00+01:00")))
    referrals.apply(*record(hit("later", assessed_at="2026-11-27T12:00:00.000Z")))
    assert sorted(h["declaration_id"] for h in referrals.ranked()) == ["exact", "later", "zoned"]


def test_a_shown_referral_replaced_by_a_filtered_version_is_withdrawn_as_filtered() -> None:
    referrals = OpenReferrals(HitFilter(outcomes={"DNL"}))
    referrals.apply(*record(hit("A", "DNL", version=1)))
    change = referrals.apply(*record(hit("A", "RFI", version=2)))
    assert change == Withdrawn("A", 1, "filtered")
    assert len(referrals) == 0


def test_values_not_written_by_the_pipeline_are_ignored() -> None:
    referrals = OpenReferrals()
    for junk in [b"not json", b"[1]", b'{"declaration_id": 5}', b'{"declaration_id": "A"}']:
        assert referrals.apply(b"A", junk) is None
    assert len(referrals) == 0


def test_a_hit_whose_declaration_holds_numbers_orjson_refuses_is_still_shown() -> None:
    # A hit embeds the declaration as filed; the screening accepts any JSON number in a field
    # the contract does not name, including ones beyond a double or 64-bit integers.
    huge = b'{"x_big": 1e400, "x_long": ' + b"9" * 400 + b', "x_neg": -' + b"1" * 25 + b"}"
    value = orjson.dumps(hit("A", "DNL"))[:-1] + b', "declaration": ' + huge + b"}"
    referrals = OpenReferrals()
    change = referrals.apply(b"A", value)
    assert isinstance(change, Shown)
    declaration = change.hit["declaration"]
    assert declaration["x_big"] == float("inf")
    assert isinstance(declaration["x_long"], float)
    assert declaration["x_neg"] == float("-" + "1" * 25)
    # What the JSON lines output writes again.
    assert orjson.loads(orjson.dumps(change.hit))["declaration"]["x_big"] is None
    assert [h["declaration_id"] for h in referrals.ranked()] == ["A"]


def test_json_beyond_orjson_that_is_not_a_hit_is_still_ignored() -> None:
    referrals = OpenReferrals()
    for junk in [b"[1e400]", b'{"declaration_id": "A", "score": 1e400', b"NaN"]:
        assert referrals.apply(b"A", junk) is None
    assert len(referrals) == 0


def test_a_view_without_declarations_drops_them_and_keeps_the_rest() -> None:
    document = {**hit("A", "HRCM"), "declaration": {"declaration_id": "A", "version": 1}}
    with_them, without = OpenReferrals(), OpenReferrals(declarations=False)
    shown = with_them.apply(*record(document))
    assert isinstance(shown, Shown)
    assert shown.hit["declaration"] == {"declaration_id": "A", "version": 1}
    bare = without.apply(*record(document))
    assert isinstance(bare, Shown)
    assert "declaration" not in bare.hit
    assert bare.hit == hit("A", "HRCM")
