"""Read assessments and examination results off their topics, never raising on input.

Assessments are the pipeline's own output: only the fields the join needs are decoded. The
worker writes the same fields alone (``assessment_facts``) when it hands an assessment to the
worker that joins it. Examination results come from officers' tools and are checked against the
contract; one that fails is described by a short reason (no payload), for a log line and a
counter.
"""

from __future__ import annotations

import msgspec

from pipeline.contract.models import Assessment, ExaminationResult
from pipeline.feedback.join import Assessed, Examined


class _MatchedRule(msgspec.Struct):
    rule_id: str


class _AssessmentFacts(msgspec.Struct):
    declaration_id: str
    version: int
    outcome: str
    matches: list[_MatchedRule] = []
    superseded_by: int | None = None


_ASSESSMENT = msgspec.json.Decoder(_AssessmentFacts)
_FACTS = msgspec.json.Encoder()
_EXAMINATION = msgspec.json.Decoder(ExaminationResult)
# An examination result is a few hundred bytes; anything far larger is not one.
MAX_EXAMINATION_BYTES = 64 * 1024


def decode_assessment(raw: bytes | None) -> Assessed | None:
    """The join's view of an assessment; None for a tombstone or a record it cannot read."""
    if raw is None:
        return None
    try:
        facts = _ASSESSMENT.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return None
    return assessed_of(facts)


def assessed_of(assessment: Assessment | _AssessmentFacts) -> Assessed:
    """The join's view of an assessment, as decoded or as the worker just made it."""
    return Assessed(
        assessment.declaration_id,
        assessment.version,
        assessment.outcome,
        tuple(m.rule_id for m in assessment.matches),
        superseded=assessment.superseded_by is not None,
    )


def assessment_facts(assessment: Assessment) -> bytes:
    """The fields of ``assessment`` that the join reads, as JSON that ``decode_assessment``
    reads: a tenth of the assessment's size."""
    facts = _AssessmentFacts(
        assessment.declaration_id,
        assessment.version,
        assessment.outcome,
        [_MatchedRule(m.rule_id) for m in assessment.matches],
        assessment.superseded_by,
    )
    return _FACTS.encode(facts)


def decode_examination(key: bytes | None, raw: bytes | None) -> Examined | str:
    """The examination result, or the reason it cannot be used."""
    if raw is None:
        return "no value (null)"
    if len(raw) > MAX_EXAMINATION_BYTES:
        return f"{len(raw)} bytes; the limit is {MAX_EXAMINATION_BYTES}"
    try:
        result = _EXAMINATION.decode(raw)
    except msgspec.ValidationError as exc:
        return f"not an ExaminationResult: {exc}"
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return "not valid JSON in UTF-8"
    if key != result.declaration_id.encode():
        # Keyed otherwise, it may sit in another partition than its declaration's assessment.
        return "the record key is not the declaration_id"
    return Examined(result.declaration_id, result.version, result.result)
