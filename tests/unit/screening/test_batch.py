"""Screening batches of raw records end to end, without a broker.

A dict stands in for the worker's version table, the built-in checks for the rule engine, and a
fixed clock for time, so every output is exact.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from pipeline import topics
from pipeline.c2c.sending import load_sharing
from pipeline.contract.models import Assessment, Hit, Rejection
from pipeline.contract.schemas import load_schema
from pipeline.records import InputRecord, OutputRecord
from pipeline.screening.batch import BatchResult, Screener
from pipeline.screening.ledger import DictLedger
from pipeline.screening.versions import Closure, VersionState
from tests.factories import bare_filing, invalidation
from tests.unit.screening.builtin_checks import RULESET_VERSION, BuiltinChecks

NOW = datetime(2026, 11, 27, 15, 5, 0, 250_000, tzinfo=UTC)
NOW_TEXT = "2026-11-27T15:05:00.250000Z"  # RFC 3339, UTC, microseconds
MAX_BYTES = 64 * 1024
ROOT = Path(__file__).resolve().parents[3]
ARMS = "930690"
SUBMITTED = "2026-11-27T15:04:05Z"


def screener() -> Screener:
    return Screener(BuiltinChecks(), max_message_bytes=MAX_BYTES, clock=lambda: NOW)


def declaration(
    declaration_id: str = "D1",
    version: int = 1,
    message_type: str = "FILING",
    hs_code: str = "851712",
    **extra: Any,
) -> dict[str, Any]:
    """A minimal filing: three named parties and one goods item, with nothing else to check."""
    if message_type == "INVALIDATION":
        return invalidation(declaration_id, version, submitted_at=SUBMITTED, **extra)
    fields = {
        "message_type": message_type,
        "declarant": {"name": "Fast Forwarding GmbH"},
        "consignor": {"name": "Shanghai Trading Ltd"},
        "consignee": {"name": "Berlin Retail AG"},
        "goods": [{"seq": 1, "hs_code": hs_code, "description": "goods", "gross_mass_kg": 10.0}],
        **extra,
    }
    return bare_filing(declaration_id, version, SUBMITTED, **fields)


_offsets = iter(range(10**9))


def record(
    value: dict[str, Any] | bytes | None,
    key: bytes | str | None = "auto",
    partition: int = 0,
    offset: int | None = None,
) -> InputRecord:
    raw = json.dumps(value).encode() if isinstance(value, dict) else value
    if key == "auto":
        key = value["declaration_id"].encode() if isinstance(value, dict) else b"K"
    assert not isinstance(key, str)
    return InputRecord(
        key=key,
        value=raw,
        topic=topics.DECLARATIONS,
        partition=partition,
        offset=next(_offsets) if offset is None else offset,
    )


def screen(records: Sequence[InputRecord], ledger: DictLedger) -> BatchResult:
    return screener().screen(records, ledger)


def on(result: BatchResult, topic: str) -> list[OutputRecord]:
    return [output for output in result.outputs if output.topic == topic]


def assessment_of(output: OutputRecord) -> Assessment:
    assert output.topic == topics.ASSESSMENTS
    assert output.value is not None
    return msgspec.json.decode(output.value, type=Assessment)


def hit_of(output: OutputRecord) -> Hit:
    assert output.topic == topics.HITS
    assert output.value is not None
    return msgspec.json.decode(output.value, type=Hit)


def rejection_of(output: OutputRecord) -> Rejection:
    assert output.topic == topics.DLQ
    assert output.value is not None
    return msgspec.json.decode(output.value, type=Rejection)


def only_assessment(result: BatchResult) -> Assessment:
    (output,) = on(result, topics.ASSESSMENTS)
    return assessment_of(output)


def published(result: BatchResult) -> str:
    """The batch's last assessment as published: what the version state keeps of the newest."""
    return (on(result, topics.ASSESSMENTS)[-1].value or b"").decode()


# --- one declaration ----------------------------------------------------------------------------


def test_clean_filing_gives_one_complete_assessment_and_no_hit(ledger: DictLedger) -> None:
    result = screen([record(declaration())], ledger)
    assert [output.topic for output in result.outputs] == [topics.ASSESSMENTS]
    output = result.outputs[0]
    assert output.key == b"D1"
    assessment = assessment_of(output)
    assert assessment.declaration_id == "D1"
    assert assessment.version == 1
    assert assessment.outcome == "ASSESSMENT_COMPLETE"
    assert assessment.score == 0.0
    assert assessment.matches == []
    assert assessment.shadow_matches == []
    assert assessment.superseded_versions == []
    assert assessment.superseded_by is None
    assert assessment.ruleset_version == RULESET_VERSION
    assert assessment.assessed_at == NOW
    assert assessment.submitted_at == datetime(2026, 11, 27, 15, 4, 5, tzinfo=UTC)
    assert {p.role for p in assessment.parties} == {"declarant", "consignor", "consignee"}
    assert json.loads(output.value or b"")["assessed_at"] == NOW_TEXT
    assert result.outcomes == {"ASSESSMENT_COMPLETE": 1}
    assert (result.hits, result.tombstones, result.superseded) == (0, 0, 0)
    # A first version keeps no copy of its assessment: nothing can arrive late behind it.
    assert ledger.states == {"D1": VersionState((1,), None)}


def test_arms_hs_code_gives_hrcm_and_one_hit(ledger: DictLedger) -> None:
    result = screen([record(declaration(hs_code=ARMS))], ledger)
    assert [output.topic for output in result.outputs] == [topics.ASSESSMENTS, topics.HITS]
    assessment = assessment_of(result.outputs[0])
    assert assessment.outcome == "HRCM"
    (match,) = assessment.matches
    assert match.action == "HRCM"
    assert match.evidence == {"goods[0].hs_code": ARMS}
    assert ARMS in match.reason

    hit_output = result.outputs[1]
    assert hit_output.key == b"D1"
    hit = hit_of(hit_output)
    assert hit.priority == 2
    assert hit.outcome == "HRCM"
    assert hit.summary.startswith("HRCM (score 60): ")
    assert ARMS in hit.summary
    shared = {f for f in Hit.__struct_fields__ if f in Assessment.__struct_fields__}
    assert {f: getattr(hit, f) for f in shared} == {f: getattr(assessment, f) for f in shared}
    assert result.hits == 1
    assert ledger.states["D1"] == VersionState((1,), open_hit=1, open_kind="HRCM")


def test_the_hit_carries_the_declaration_exactly_as_received(ledger: DictLedger) -> None:
    # Odd spacing, keys out of order, a non-ASCII name written as is and one escaped, numbers
    # that an encoder would write otherwise (10.000, 2.50) and an unknown field: every byte of
    # it reaches the hit, as the filer sent it.
    raw = (
        b'  {"version": 1, "declaration_id": "D1",  "message_type": "FILING",'
        b' "submitted_at": "2026-11-27T15:04:05Z",'
        b' "declarant": {"name": "M\\u00fcller Spedition"},'
        b' "consignor": {"name": "Shanghai \xe8\xb4\xb8\xe6\x98\x93 Ltd"},'
        b' "consignee": {"name": "Berlin Retail AG"},'
        b' "goods": [{"hs_code": "930690", "gross_mass_kg": 10.000}],'
        b' "x_gateway": {"trace": [1, 2.50, null], "received": "2026-11-27T15:04:05.1+01:00"}}\n'
    )
    result = screen([record(raw, key=b"D1")], ledger)
    (hit_output,) = on(result, topics.HITS)
    assert hit_output.value is not None
    assert raw in hit_output.value
    hit = hit_of(hit_output)
    assert isinstance(hit.declaration, msgspec.Raw)
    assert bytes(hit.declaration) == raw.strip()  # a reader gets the object, not the spaces
    assert json.loads(hit_output.value)["declaration"] == json.loads(raw)
    # The assessment does not carry it: only referrals go to officers with the filing.
    (assessment_output,) = on(result, topics.ASSESSMENTS)
    assert b"x_gateway" not in (assessment_output.value or b"")


def test_the_hit_with_its_declaration_validates_against_the_shipped_schema(
    ledger: DictLedger,
) -> None:
    document = declaration(hs_code=ARMS, x_extension={"anything": [1, 2]})
    result = screen([record(document)], ledger)
    (hit_output,) = on(result, topics.HITS)
    hit = json.loads(hit_output.value or b"")
    assert hit["declaration"] == document
    schema = Draft202012Validator(load_schema("hit"), format_checker=FormatChecker())
    schema.validate(hit)


def test_an_amended_hit_carries_the_amendment(ledger: DictLedger) -> None:
    screen([record(declaration(hs_code=ARMS))], ledger)
    amended = declaration(version=2, message_type="AMENDMENT", hs_code=ARMS)
    result = screen([record(amended)], ledger)
    (hit_output,) = on(result, topics.HITS)
    assert json.loads(hit_output.value or b"")["declaration"] == amended


def test_score_only_findings_below_the_threshold_raise_no_hit(ledger: DictLedger) -> None:
    document = declaration(equipment=[{"container_id": "CSQU3054384"}])  # wrong check digit
    result = screen([record(document)], ledger)
    assessment = only_assessment(result)
    assert assessment.outcome == "ASSESSMENT_COMPLETE"
    assert assessment.score == 20.0
    assert [m.rule_id for m in assessment.matches] == ["BUILTIN-CONTAINER-CHECK-DIGIT"]
    assert on(result, topics.HITS) == []


def test_amendment_that_clears_a_referral_closes_the_hit(ledger: DictLedger) -> None:
    screen([record(declaration(hs_code=ARMS))], ledger)
    result = screen([record(declaration(version=2, message_type="AMENDMENT"))], ledger)
    assessment = only_assessment(result)
    assert assessment.version == 2
    assert assessment.outcome == "ASSESSMENT_COMPLETE"
    assert assessment.superseded_versions == [1]
    assert assessment.superseded_by is None
    assert assessment.message_type == "AMENDMENT"
    assert on(result, topics.HITS) == [OutputRecord(topics.HITS, b"D1", None)]
    assert result.tombstones == 1
    assert ledger.states["D1"] == VersionState(
        (1, 2), None, closed=Closure(2, 1, "HRCM", None), newest_assessment=published(result)
    )


def test_amendment_that_stays_a_referral_replaces_the_hit(ledger: DictLedger) -> None:
    screen([record(declaration(hs_code=ARMS))], ledger)
    result = screen(
        [record(declaration(version=2, message_type="AMENDMENT", hs_code=ARMS))], ledger
    )
    (hit_output,) = on(result, topics.HITS)
    hit = hit_of(hit_output)
    assert (hit.version, hit.superseded_versions) == (2, [1])
    assert ledger.states["D1"] == VersionState(
        (1, 2), open_hit=2, open_kind="HRCM", newest_assessment=published(result)
    )


def test_amendment_of_a_clean_filing_publishes_only_a_spare_tombstone(
    ledger: DictLedger,
) -> None:
    screen([record(declaration())], ledger)
    result = screen([record(declaration(version=2, message_type="AMENDMENT"))], ledger)
    assert on(result, topics.HITS) == [OutputRecord(topics.HITS, b"D1", None)]
    assert only_assessment(result).superseded_versions == [1]


def test_first_clean_filing_publishes_nothing_on_hits(ledger: DictLedger) -> None:
    result = screen([record(declaration())], ledger)
    assert on(result, topics.HITS) == []


def test_late_older_version_is_kept_for_audit_and_raises_no_hit(ledger: DictLedger) -> None:
    newer = screen([record(declaration(version=2, message_type="AMENDMENT", hs_code=ARMS))], ledger)
    result = screen([record(declaration(version=1, hs_code=ARMS))], ledger)
    late, newest = on(result, topics.ASSESSMENTS)
    assessment = assessment_of(late)
    assert assessment.version == 1
    assert assessment.outcome == "HRCM"
    assert assessment.superseded_by == 2
    assert assessment.superseded_versions == []
    assert on(result, topics.HITS) == []
    # v2's assessment again after it, so that the compacted topic ends with the newest
    assert newest == on(newer, topics.ASSESSMENTS)[0]
    assert (result.superseded, result.reissued) == (1, 1)
    # v2's hit stays open
    assert ledger.states["D1"] == VersionState(
        (1, 2), open_hit=2, open_kind="HRCM", newest_assessment=published(newer)
    )


def test_late_older_clean_version_does_not_close_the_newer_hit(ledger: DictLedger) -> None:
    screen([record(declaration(version=2, message_type="AMENDMENT", hs_code=ARMS))], ledger)
    result = screen([record(declaration(version=1))], ledger)
    assert assessment_of(on(result, topics.ASSESSMENTS)[0]).superseded_by == 2
    assert on(result, topics.HITS) == []
    assert ledger.states["D1"].open_hit == 2


def test_invalidation_gives_invalidated_and_a_tombstone(ledger: DictLedger) -> None:
    screen([record(declaration(hs_code=ARMS))], ledger)
    result = screen([record(declaration(version=2, message_type="INVALIDATION"))], ledger)
    assessment = only_assessment(result)
    assert assessment.outcome == "INVALIDATED"
    assert assessment.message_type == "INVALIDATION"
    assert assessment.matches == []
    assert assessment.shadow_matches == []
    assert assessment.score == 0.0
    assert assessment.superseded_versions == [1]
    assert on(result, topics.HITS) == [OutputRecord(topics.HITS, b"D1", None)]
    assert result.outcomes == {"INVALIDATED": 1}
    assert ledger.states["D1"] == VersionState(
        (1, 2), None, closed=Closure(2, 1, "HRCM", None), newest_assessment=published(result)
    )


def test_invalidation_of_an_unknown_declaration_is_assessed(ledger: DictLedger) -> None:
    result = screen([record(declaration("NEW", message_type="INVALIDATION"))], ledger)
    assert only_assessment(result).outcome == "INVALIDATED"
    assert on(result, topics.HITS) == [OutputRecord(topics.HITS, b"NEW", None)]


def test_versions_in_one_batch_are_applied_in_order(ledger: DictLedger) -> None:
    records = [
        record(declaration(version=1, hs_code=ARMS)),
        record(declaration(version=2, message_type="AMENDMENT")),
        record(declaration(version=3, message_type="AMENDMENT", hs_code=ARMS)),
    ]
    result = screen(records, ledger)
    assert [(o.topic, o.value is None) for o in result.outputs] == [
        (topics.ASSESSMENTS, False),
        (topics.HITS, False),
        (topics.ASSESSMENTS, False),
        (topics.HITS, True),
        (topics.ASSESSMENTS, False),
        (topics.HITS, False),
    ]
    assert assessment_of(result.outputs[4]).superseded_versions == [1, 2]
    assert ledger.states["D1"] == VersionState(
        (1, 2, 3), open_hit=3, open_kind="HRCM", newest_assessment=published(result)
    )


def test_declarations_are_tracked_apart(ledger: DictLedger) -> None:
    records = [
        record(declaration("A", hs_code=ARMS), partition=1),
        record(declaration("B"), partition=2),
        record(declaration("A", version=2, message_type="AMENDMENT"), partition=1),
    ]
    result = screen(records, ledger)
    assessments = on(result, topics.ASSESSMENTS)
    assert [o.key for o in assessments] == [b"A", b"B", b"A"]
    a2 = (assessments[2].value or b"").decode()
    assert ledger.states == {
        "A": VersionState((1, 2), None, closed=Closure(2, 1, "HRCM", None), newest_assessment=a2),
        "B": VersionState((1,), None),
    }
    assert ledger.partitions == {"A": 1, "B": 2}


def test_evaluator_receives_only_declarations_to_evaluate(ledger: DictLedger) -> None:
    seen: list[list[str]] = []

    class Recording(BuiltinChecks):
        def evaluate(self, batch: Sequence[Any]) -> list[Any]:
            seen.append([f"{e.declaration.declaration_id}/{e.declaration.version}" for e in batch])
            return super().evaluate(batch)

    records = [
        record(declaration("A")),
        record(b"{"),
        record(declaration("B", message_type="INVALIDATION")),
        record(declaration("C", hs_code=ARMS)),
    ]
    result = Screener(Recording(), max_message_bytes=MAX_BYTES, clock=lambda: NOW).screen(
        records, ledger
    )
    assert seen == [["A/1", "C/1"]]  # one call per batch; no invalidation, no rejected message
    assert result.outcomes == {"ASSESSMENT_COMPLETE": 1, "INVALIDATED": 1, "HRCM": 1}


def test_batch_of_only_bad_messages_does_not_evaluate(ledger: DictLedger) -> None:
    class Refusing(BuiltinChecks):
        def enrich(self, declarations: Sequence[Any]) -> list[Any]:
            raise AssertionError("nothing to enrich")

        def evaluate(self, batch: Sequence[Any]) -> list[Any]:
            raise AssertionError("nothing to evaluate")

    screener = Screener(Refusing(), max_message_bytes=MAX_BYTES, clock=lambda: NOW)
    result = screener.screen([record(b"[]"), record(None)], ledger)
    assert len(on(result, topics.DLQ)) == 2
    assert screener.screen([], ledger).outputs == []


# --- redelivery ---------------------------------------------------------------------------------


def _redelivered(ledger: DictLedger, history: list[dict[str, Any]], again: dict[str, Any]) -> None:
    for document in history:
        screen([record(document)], ledger)
    same = record(again, offset=7)
    first = screen([same], ledger)
    second = screen([same], ledger)
    assert second.outputs == first.outputs


@pytest.mark.parametrize(
    ("history", "again"),
    [
        pytest.param([], declaration(), id="clean filing"),
        pytest.param([], declaration(hs_code=ARMS), id="referred filing"),
        pytest.param(
            [declaration(hs_code=ARMS)],
            declaration(version=2, message_type="AMENDMENT", hs_code=ARMS),
            id="amendment that stays a referral",
        ),
        pytest.param(
            [declaration(hs_code=ARMS)],
            declaration(version=2, message_type="INVALIDATION"),
            id="invalidation",
        ),
        pytest.param(
            [declaration(version=3, message_type="AMENDMENT")],
            declaration(version=1, hs_code=ARMS),
            id="late older version",
        ),
    ],
)
def test_redelivery_gives_the_same_outputs(
    ledger: DictLedger, history: list[dict[str, Any]], again: dict[str, Any]
) -> None:
    _redelivered(ledger, history, again)


def test_redelivered_amendment_that_clears_a_referral_closes_it_again(
    ledger: DictLedger,
) -> None:
    _redelivered(
        ledger, [declaration(hs_code=ARMS)], declaration(version=2, message_type="AMENDMENT")
    )


@pytest.mark.parametrize(
    ("history", "again"),
    [
        pytest.param([], declaration(filer_id="F1", hs_code=ARMS), id="referred filing"),
        pytest.param(
            [declaration(filer_id="F1", hs_code=ARMS)],
            declaration(version=2, message_type="AMENDMENT", filer_id="F1"),
            id="amendment that clears a referral",
        ),
        pytest.param(
            [declaration(filer_id="F1", hs_code=ARMS)],
            declaration(version=2, message_type="INVALIDATION"),
            id="invalidation of a referral",
        ),
    ],
)
def test_redelivery_gives_the_same_notices(
    ledger: DictLedger, history: list[dict[str, Any]], again: dict[str, Any]
) -> None:
    _redelivered(ledger, history, again)
    notices = on(screen([record(again, offset=7)], ledger), topics.FILER_NOTICES)
    assert notices  # the notices were part of what was compared


# --- notices to filers --------------------------------------------------------------------------


def test_a_filing_with_a_filer_gets_its_notice_after_its_assessment_and_hit(
    ledger: DictLedger,
) -> None:
    result = screen([record(declaration(hs_code=ARMS, filer_id="F1"))], ledger)
    assert [o.topic for o in result.outputs] == [
        topics.ASSESSMENTS,
        topics.HITS,
        topics.FILER_NOTICES,
    ]
    notice = json.loads(result.outputs[2].value or b"")
    assert result.outputs[2].key == b"F1"
    assert (notice["kind"], notice["declaration_id"], notice["version"]) == ("HRCM", "D1", 1)
    assert notice["issued_at"] == NOW_TEXT
    assert "BUILTIN" not in notice["text"]
    assert ARMS not in notice["text"]
    assert result.notices == {"HRCM": 1}


def test_a_filing_without_a_filer_is_counted_not_notified(ledger: DictLedger) -> None:
    result = screen([record(declaration()), record(declaration("D2", hs_code=ARMS))], ledger)
    assert on(result, topics.FILER_NOTICES) == []
    assert result.notices_unaddressed == {"ASSESSMENT_COMPLETE": 1, "HRCM": 1}


# --- rejections ---------------------------------------------------------------------------------


def test_key_that_differs_from_the_declaration_id_is_rejected(ledger: DictLedger) -> None:
    result = screen([record(declaration("D1"), key=b"D2", partition=4, offset=99)], ledger)
    (output,) = result.outputs
    rejection = rejection_of(output)
    assert output.key == b"D2"
    assert rejection.error.code == "SCHEMA"
    assert rejection.error.path == "$.declaration_id"
    assert "D1" in rejection.error.message
    assert "D2" in rejection.error.message
    assert rejection.key == "D2"
    assert ledger.states == {}
    assert result.rejections == {"SCHEMA": 1}


def test_record_without_a_key_is_screened(ledger: DictLedger) -> None:
    result = screen([record(declaration(), key=None)], ledger)
    assert only_assessment(result).declaration_id == "D1"
    assert result.outputs[0].key == b"D1"


BAD_MESSAGES: dict[str, tuple[bytes | None, bytes | None, str, str | None]] = {
    # name: (key, value, code, path)
    "null value": (b"D1", None, "NOT_AN_OBJECT", None),
    "empty": (b"D1", b"", "INVALID_JSON", None),
    "NUL byte": (b"D1", b"\x00", "INVALID_JSON", None),
    "truncated": (b"D1", json.dumps(declaration()).encode()[:40], "INVALID_JSON", None),
    "NaN": (b"D1", b'{"declaration_id": "D1", "version": NaN}', "INVALID_JSON", None),
    "deep nesting": (b"D1", b"[" * 10_000 + b"]" * 10_000, "INVALID_JSON", None),
    "json null": (b"D1", b"null", "NOT_AN_OBJECT", "$"),
    "array": (b"D1", b"[1, 2]", "NOT_AN_OBJECT", "$"),
    "not UTF-8": (b"D1", b'{"declaration_id": "\xff"}', "ENCODING", None),
    "too large": (b"D1", b" " * (MAX_BYTES + 1), "TOO_LARGE", None),
    "bad version": (
        b"D1",
        json.dumps(declaration(version="one")).encode(),
        "SCHEMA",
        "$.version",
    ),
    "bad hs code": (
        b"D1",
        json.dumps(declaration(hs_code="93")).encode(),
        "SCHEMA",
        "$.goods[0].hs_code",
    ),
    "bad id": (
        b"D/1",
        json.dumps(declaration("D/1")).encode(),
        "SCHEMA",
        "$.declaration_id",
    ),
    "filing without goods": (
        b"D1",
        json.dumps({k: v for k, v in declaration().items() if k != "goods"}).encode(),
        "SCHEMA",
        "$",
    ),
    "1000 goods": (
        b"D1",
        json.dumps(declaration(goods=[{}] * 1000)).encode(),
        "SCHEMA",
        "$.goods",
    ),
    "key mismatch": (b"OTHER", json.dumps(declaration()).encode(), "SCHEMA", "$.declaration_id"),
    "key not UTF-8": (b"\xff", json.dumps(declaration()).encode(), "SCHEMA", "$.declaration_id"),
    "no key, bad value": (None, b"{", "INVALID_JSON", None),
}


@pytest.mark.parametrize("name", sorted(BAD_MESSAGES))
def test_bad_message_gives_exactly_one_dead_letter(ledger: DictLedger, name: str) -> None:
    key, value, code, path = BAD_MESSAGES[name]
    bad = InputRecord(key=key, value=value, topic=topics.DECLARATIONS, partition=5, offset=1234)
    result = screen([bad], ledger)
    (output,) = result.outputs
    assert output.topic == topics.DLQ
    assert output.key == key
    rejection = rejection_of(output)
    assert (rejection.error.code, rejection.error.path) == (code, path)
    assert rejection.error.message
    assert base64.b64decode(rejection.original, validate=True) == (value or b"")
    assert (rejection.source.topic, rejection.source.partition, rejection.source.offset) == (
        topics.DECLARATIONS,
        5,
        1234,
    )
    assert rejection.received_at == NOW
    assert rejection.key == (key.decode() if key is not None and key != b"\xff" else None)
    assert result.rejections == {code: 1}
    assert result.outcomes == {}
    assert ledger.states == {}


def test_bad_messages_do_not_stop_the_batch(ledger: DictLedger) -> None:
    records = [
        record(b"{", offset=10),
        record(declaration("A"), offset=11),
        record(None, offset=12),
        record(declaration("B", hs_code=ARMS), offset=13),
        record(b"[]", offset=14),
    ]
    result = screen(records, ledger)
    dead = on(result, topics.DLQ)
    assert [rejection_of(o).source.offset for o in dead] == [10, 12, 14]
    assert [o.key for o in on(result, topics.ASSESSMENTS)] == [b"A", b"B"]
    assert len(on(result, topics.HITS)) == 1
    assert result.rejections == {"INVALID_JSON": 1, "NOT_AN_OBJECT": 2}
    assert result.outcomes == {"ASSESSMENT_COMPLETE": 1, "HRCM": 1}


# --- every output against the shipped JSON Schemas -----------------------------------------------

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_FORMATS = FormatChecker()


@_FORMATS.checks("date-time")
def _is_rfc3339(value: object) -> bool:
    return not isinstance(value, str) or bool(_RFC3339.match(value))


_SCHEMA_OF_TOPIC = {
    topics.ASSESSMENTS: "assessment",
    topics.HITS: "hit",
    topics.DLQ: "rejection",
    topics.FILER_NOTICES: "notice",
    topics.C2C_OUTBOUND: "partner_message",
}


def _every_kind_of_output(ledger: DictLedger) -> list[OutputRecord]:
    outputs: list[OutputRecord] = []
    batches = [
        [record(declaration("A", filer_id="F1")), record(declaration("B", hs_code=ARMS))],
        [record(declaration("B", version=2, message_type="AMENDMENT", filer_id="F1"))],
        [
            record(
                declaration(
                    "C", version=2, message_type="AMENDMENT", hs_code="360100", filer_id="F1"
                )
            )
        ],
        [record(declaration("C", version=1))],
        [record(declaration("C", version=3, message_type="INVALIDATION"))],
        [record(declaration("F", hs_code="93", filer_id="F1"))],
        [
            record(
                declaration("E", equipment=[{"container_id": "BAD"}], totals={"gross_mass_kg": 1})
            )
        ],
        [
            InputRecord(topics.DECLARATIONS, k, v, 3, i)
            for i, (k, v, _, _) in enumerate(BAD_MESSAGES.values())
        ],
    ]
    for batch in batches:
        outputs.extend(screen(batch, ledger).outputs)
    # A referral on a route through a partner's country: a risk finding for the partner.
    shared = Screener(
        BuiltinChecks(),
        max_message_bytes=MAX_BYTES,
        clock=lambda: NOW,
        sharing=load_sharing(ROOT / "agreements", "NL"),
    )
    routed = declaration("G", hs_code=ARMS, transport={"routing_countries": ["US", "NL"]})
    outputs.extend(shared.screen([record(routed)], ledger).outputs)
    return outputs


def test_every_output_validates_against_the_shipped_schema(ledger: DictLedger) -> None:
    outputs = _every_kind_of_output(ledger)
    kinds = {
        (o.topic, json.loads(o.value).get("outcome") if o.value is not None else None)
        for o in outputs
    }
    assert {topics.ASSESSMENTS, topics.HITS, topics.DLQ, topics.C2C_OUTBOUND} <= {
        o.topic for o in outputs
    }
    assert (topics.ASSESSMENTS, "INVALIDATED") in kinds
    assert (topics.HITS, "HRCM") in kinds
    assert (topics.HITS, "RFI") in kinds
    assert (topics.HITS, None) in kinds  # tombstones
    notice_kinds = {
        json.loads(o.value)["kind"] for o in outputs if o.topic == topics.FILER_NOTICES and o.value
    }
    assert notice_kinds == {"ASSESSMENT_COMPLETE", "REFERRAL_CLOSED", "HRCM", "REJECTED"}
    validators = {
        topic: Draft202012Validator(load_schema(name), format_checker=_FORMATS)
        for topic, name in _SCHEMA_OF_TOPIC.items()
    }
    for output in outputs:
        if output.value is None:
            # Only hits are ever tombstoned, and the house-filing record of an invalidation.
            assert output.topic in (topics.HITS, topics.CONSOLIDATIONS)
            continue
        if output.topic == topics.CONSOLIDATIONS:
            continue  # internal, checked by the consolidation tests
        document = json.loads(output.value)
        problems = [e.message for e in validators[output.topic].iter_errors(document)]
        assert problems == [], (output.topic, document)


def test_schema_check_would_notice_a_broken_output(ledger: DictLedger) -> None:
    validator = Draft202012Validator(load_schema("assessment"), format_checker=_FORMATS)
    (output,) = screen([record(declaration())], ledger).outputs
    document = json.loads(output.value or b"")
    assert validator.is_valid(document)
    assert not validator.is_valid({**document, "outcome": "MAYBE"})
    assert not validator.is_valid({**document, "assessed_at": "2026-11-27 15:05"})
    assert not validator.is_valid({k: v for k, v in document.items() if k != "parties"})


# --- house filings by master (contract v1.1) -------------------------------------------------


def test_a_house_filing_records_its_outcome_under_its_master(ledger: DictLedger) -> None:
    document = declaration("H1", hs_code="930690")
    document["transport_document"] = {"type": "HBL", "number": "HB-1", "master_number": "M 1"}
    (house,) = on(screen([record(document)], ledger), topics.CONSOLIDATIONS)
    assert house.key == b"H1"
    assert house.value is not None
    assert json.loads(house.value) == {
        "master_number": "M 1",
        "declaration_id": "H1",
        "version": 1,
        "outcome": "HRCM",
    }


def test_a_filing_without_a_master_records_nothing(ledger: DictLedger) -> None:
    assert on(screen([record(declaration("D1"))], ledger), topics.CONSOLIDATIONS) == []


def test_an_invalidation_deletes_the_house_record(ledger: DictLedger) -> None:
    invalidation = declaration("H1", version=2, message_type="INVALIDATION")
    (house,) = on(screen([record(invalidation)], ledger), topics.CONSOLIDATIONS)
    assert (house.key, house.value) == (b"H1", None)
