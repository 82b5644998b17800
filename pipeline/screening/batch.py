"""Screen one batch of raw declaration records into output records.

The one place where decode, evaluate, version bookkeeping and assessment meet, and where the
notices to filers (``pipeline.notices``) and the risk findings for partner administrations
(``pipeline.c2c``) are made beside the assessments. No Kafka here:
the worker hands records in and produces what comes out, so the whole data path is testable
without a broker.

Every declaration version gets its assessment, also an older version that arrives after a newer
one (for audit). The assessments topic is compacted by declaration id, so the newest version's
assessment, kept in the version state as it was published, is published again after such a
late one: the key's last record is the newest version's assessment (``versions`` says when no
copy is kept).
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import msgspec

from pipeline import topics
from pipeline.c2c.outbound import message_key, risk_findings
from pipeline.c2c.sending import Sharing
from pipeline.contract.models import (
    Assessment,
    Declaration,
    Hit,
    Notice,
    Outcome,
    Rejection,
    RejectionError,
    RejectionSource,
)
from pipeline.notices import build as notices
from pipeline.records import InputRecord, OutputRecord
from pipeline.reference.consolidations import ENCODER as HOUSE_ENCODER
from pipeline.reference.consolidations import HouseFiling, master_number_of
from pipeline.screening.decode import DecodeFailure, decode_declaration
from pipeline.screening.evaluation import Evaluation, Evaluator
from pipeline.screening.outcome import PRIORITY, REFERRALS, Thresholds, decide
from pipeline.screening.summary import summarise
from pipeline.screening.versions import Closure, VersionState, admit, hit_action

__all__ = ["BatchResult", "Prepared", "Screener"]

_ENCODER = msgspec.json.Encoder()
# The largest assessment kept in a version state to publish again (``_kept_copy``): a quarter
# of Kafka's default record size limit, which the state's changelog record must stay under.
MAX_KEPT_ASSESSMENT_BYTES = 256 * 1024


class Ledger(Protocol):
    """Version state per declaration id, kept where the declaration's partition is owned."""

    def get(self, declaration_id: str, partition: int) -> VersionState | None: ...

    def put(self, declaration_id: str, partition: int, state: VersionState) -> None: ...


@dataclass(slots=True)
class BatchResult:
    outputs: list[OutputRecord] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    rejections: Counter[str] = field(default_factory=Counter)
    hits: int = 0
    tombstones: int = 0
    superseded: int = 0
    # The newest version's assessment published again after a late older version's; and late
    # older versions whose state (written before it was kept) had none to publish again.
    reissued: int = 0
    reissue_unavailable: int = 0
    hits_by_outcome: Counter[str] = field(default_factory=Counter)
    rule_matches: Counter[tuple[str, str]] = field(default_factory=Counter)
    shadow_matches: Counter[str] = field(default_factory=Counter)
    submitted_at_s: list[float] = field(default_factory=list)  # Unix time, per assessment
    notices: Counter[str] = field(default_factory=Counter)  # notices to filers, by kind
    # Notices not sent because the message named no filer, by the kind they would have been.
    notices_unaddressed: Counter[str] = field(default_factory=Counter)
    partner_messages: Counter[tuple[str, str]] = field(default_factory=Counter)  # partner, kind
    # What the outputs hold, as structs, for readers in the same process (the worker's
    # examination join, the backtest): one assessment per assessable record and one rejection
    # per rejected record, in input order.
    assessed: list[tuple[InputRecord, Assessment]] = field(default_factory=list)
    rejected: list[tuple[InputRecord, Rejection]] = field(default_factory=list)


@dataclass(slots=True)
class Prepared:
    """A decoded and evaluated batch, ready for version bookkeeping."""

    ruleset_version: str
    assessable: list[tuple[InputRecord, Declaration, Evaluation]] = field(default_factory=list)
    rejections: list[tuple[InputRecord, Rejection]] = field(default_factory=list)
    rejection_codes: Counter[str] = field(default_factory=Counter)
    # Rejected messages that name a filer, for their REJECTED notices; and those that do not.
    rejected_filings: list[tuple[InputRecord, notices.RejectedFiling]] = field(default_factory=list)
    rejected_unaddressed: int = 0
    # The tags of the rules that evaluated the batch, for the categories of partner findings.
    rule_tags: Mapping[str, Sequence[str]] = field(default_factory=dict)


class Screener:
    def __init__(
        self,
        evaluator: Evaluator,
        *,
        max_message_bytes: int,
        thresholds: Thresholds | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sharing: Sharing | None = None,
    ) -> None:
        self.evaluator = evaluator
        self.max_message_bytes = max_message_bytes
        self.thresholds = thresholds or Thresholds()
        self.clock = clock
        self.sharing = sharing  # None: nothing is sent to partner administrations

    def screen(self, records: Sequence[InputRecord], ledger: Ledger) -> BatchResult:
        return self.finish(self.prepare(records), ledger)

    def prepare(self, records: Sequence[InputRecord]) -> Prepared:
        """Decode, enrich and evaluate: pure but for reads of reference data, so the worker may
        run it in a thread off the event loop."""
        evaluator = self.evaluator  # one rule set for the whole batch, even if it is swapped
        prepared = Prepared(ruleset_version=evaluator.ruleset_version)
        if self.sharing is not None:
            prepared.rule_tags = self.sharing.tags_of(evaluator)
        decoded: list[tuple[InputRecord, Declaration]] = []
        for record in records:
            outcome = decode_declaration(record.value, self.max_message_bytes)
            if isinstance(outcome, Declaration):
                outcome = _check_key(record, outcome)
            if isinstance(outcome, DecodeFailure):
                prepared.rejections.append((record, self._rejection(record, outcome)))
                prepared.rejection_codes[outcome.code] += 1
                rejected = notices.read_rejected(
                    record.value, outcome, record.key, self.max_message_bytes
                )
                if rejected is None:
                    prepared.rejected_unaddressed += 1
                else:
                    prepared.rejected_filings.append((record, rejected))
            else:
                decoded.append((record, outcome))
        to_evaluate = [d for _, d in decoded if d.message_type != "INVALIDATION"]
        evaluations = iter(evaluator.evaluate(evaluator.enrich(to_evaluate)) if to_evaluate else ())
        for record, declaration in decoded:
            evaluation = (
                Evaluation() if declaration.message_type == "INVALIDATION" else next(evaluations)
            )
            prepared.assessable.append((record, declaration, evaluation))
        return prepared

    def finish(self, prepared: Prepared, ledger: Ledger) -> BatchResult:
        """Version bookkeeping and outputs, in order; runs where the ledger lives."""
        result = BatchResult(
            outputs=[_rejection_record(record, r) for record, r in prepared.rejections],
            rejected=prepared.rejections,
        )
        result.rejections.update(prepared.rejection_codes)
        assessed_at = self.clock()
        for record, rejected in prepared.rejected_filings:
            _notify(
                result,
                notices.rejected_notice(
                    rejected, record.topic, record.partition, record.offset, assessed_at
                ),
            )
        if prepared.rejected_unaddressed:
            result.notices_unaddressed["REJECTED"] += prepared.rejected_unaddressed
        for record, declaration, evaluation in prepared.assessable:
            self._assess(
                record,
                declaration,
                evaluation,
                assessed_at,
                ledger,
                result,
                prepared.ruleset_version,
                prepared.rule_tags,
            )
        return result

    def _assess(
        self,
        record: InputRecord,
        declaration: Declaration,
        evaluation: Evaluation,
        assessed_at: datetime,
        ledger: Ledger,
        result: BatchResult,
        ruleset_version: str,
        rule_tags: Mapping[str, Sequence[str]],
    ) -> None:
        key = declaration.declaration_id.encode()
        admission, state = admit(
            ledger.get(declaration.declaration_id, record.partition), declaration.version
        )
        invalidated = declaration.message_type == "INVALIDATION"
        outcome: Outcome
        if invalidated:
            outcome, score = "INVALIDATED", 0.0
        else:
            outcome, score = decide(
                evaluation.matches,
                evaluation.score_reduction,
                self.thresholds,
                evaluation.data_quality,
            )
        assessment = Assessment(
            declaration_id=declaration.declaration_id,
            version=declaration.version,
            outcome=outcome,
            score=score,
            matches=evaluation.matches,
            shadow_matches=evaluation.shadow_matches,
            parties=evaluation.parties,
            ruleset_version=ruleset_version,
            submitted_at=declaration.submitted_at,
            assessed_at=assessed_at,
            superseded_versions=admission.superseded_versions,
            superseded_by=admission.superseded_by,
            message_type=declaration.message_type,
        )
        encoded = _ENCODER.encode(assessment)
        result.outputs.append(OutputRecord(topics.ASSESSMENTS, key, encoded))
        result.assessed.append((record, assessment))
        result.outcomes[outcome] += 1
        result.submitted_at_s.append(declaration.submitted_at.timestamp())
        for match in evaluation.matches:
            result.rule_matches[(match.rule_id, match.action)] += 1
        for match in evaluation.shadow_matches:
            result.shadow_matches[match.rule_id] += 1

        if admission.superseded_by is not None:
            # A newer version was assessed first: keep this one for audit, raise no hit, tell
            # the filer nothing (the newer version's notice holds), and end the key with the
            # newer version's assessment again.
            result.superseded += 1
            _reissue(key, state, result)
            ledger.put(declaration.declaration_id, record.partition, state)
            return
        house = _house_record(declaration, outcome, invalidated)
        if house is not None:
            result.outputs.append(house)
        filer = notices.filer_of(declaration)
        action = hit_action(state, declaration.version, outcome in REFERRALS, invalidated)
        if action == "hit":
            hit = _hit(assessment, record.value)
            result.outputs.append(OutputRecord(topics.HITS, key, _ENCODER.encode(hit)))
            result.hits += 1
            result.hits_by_outcome[outcome] += 1
            state = VersionState(state.versions, declaration.version, outcome, filer)
            self._share(assessment, declaration, assessed_at, rule_tags, result)
        elif action == "tombstone":
            result.outputs.append(OutputRecord(topics.HITS, key, None))
            result.tombstones += 1
            closure = _closure(state, declaration.version, filer)
            if closure is not None:
                _withdrawn(declaration.declaration_id, closure, assessed_at, result)
            state = VersionState(state.versions, None, closed=closure)
        if not invalidated:
            # The version's own notice, after the one withdrawing the referral it replaces.
            if filer is None:
                result.notices_unaddressed[outcome] += 1
            else:
                _notify(result, notices.outcome_notice(declaration, filer, outcome, assessed_at))
        state = state.keeping(_kept_copy(declaration.version, encoded))
        ledger.put(declaration.declaration_id, record.partition, state)

    def _share(
        self,
        assessment: Assessment,
        declaration: Declaration,
        sent_at: datetime,
        rule_tags: Mapping[str, Sequence[str]],
        result: BatchResult,
    ) -> None:
        """The referral's risk findings for the partners concerned, as their agreements allow
        (``risk_findings`` leaves out RFIs and what an agreement does not allow)."""
        if self.sharing is None or not self.sharing.agreements:
            return
        for message in risk_findings(
            assessment,
            declaration,
            self.sharing.agreements,
            home=self.sharing.home,
            sent_at=sent_at,
            tags_by_rule=rule_tags,
        ):
            result.outputs.append(
                OutputRecord(
                    topics.C2C_OUTBOUND, message_key(message).encode(), _ENCODER.encode(message)
                )
            )
            result.partner_messages[(message.to_administration, message.kind)] += 1

    def _rejection(self, record: InputRecord, failure: DecodeFailure) -> Rejection:
        return Rejection(
            error=RejectionError(failure.code, failure.message, failure.path),
            source=RejectionSource(record.topic, record.partition, record.offset),
            received_at=self.clock(),
            original=base64.b64encode(record.value or b"").decode("ascii"),
            key=_text_or_none(record.key),
        )


def _rejection_record(record: InputRecord, rejection: Rejection) -> OutputRecord:
    return OutputRecord(topics.DLQ, record.key, _ENCODER.encode(rejection))


def _kept_copy(version: int, encoded: bytes) -> str | None:
    """The newest version's assessment as the state keeps it. A first version is never kept:
    no version can arrive late behind it, and most declarations are never amended. Nor is one
    too large to leave room in its changelog record for the rest of the state."""
    if version <= 1 or len(encoded) > MAX_KEPT_ASSESSMENT_BYTES:
        return None
    return encoded.decode()


def _reissue(key: bytes, state: VersionState, result: BatchResult) -> None:
    """The newest version's assessment again, as it was published, after a late older
    version's, so that the compacted topic keeps the newest for the key."""
    if state.newest_assessment is None:
        # A state written before the assessment was kept, or one too large to keep.
        result.reissue_unavailable += 1
        return
    newest = state.newest_assessment.encode()
    result.outputs.append(OutputRecord(topics.ASSESSMENTS, key, newest))
    result.reissued += 1


def _closure(state: VersionState, version: int, filer: str | None) -> Closure | None:
    """The referral that ``version`` withdraws (a tombstone is being published for it): the
    open one; or, when ``version`` is screened again after a crash and had already closed one,
    that one again, so that the filer gets the same notice. None for a spare tombstone."""
    if state.open_hit is not None:
        # Told to whoever was told of the referral; the closing message's filer if not known.
        return Closure(version, state.open_hit, state.open_kind, state.open_filer or filer)
    if state.closed is not None and state.closed.by == version:
        return state.closed
    return None


def _withdrawn(
    declaration_id: str, closure: Closure, issued_at: datetime, result: BatchResult
) -> None:
    if closure.filer is None:
        result.notices_unaddressed["REFERRAL_CLOSED"] += 1
        return
    _notify(
        result,
        notices.referral_closed(
            closure.filer, declaration_id, closure.hit, closure.kind, issued_at
        ),
    )


def _notify(result: BatchResult, notice: Notice) -> None:
    result.outputs.append(
        OutputRecord(topics.FILER_NOTICES, notice.filer_id.encode(), _ENCODER.encode(notice))
    )
    result.notices[notice.kind] += 1


def _check_key(record: InputRecord, declaration: Declaration) -> Declaration | DecodeFailure:
    """The record key must be the declaration id: versions are ordered per partition by key."""
    if record.key is None or record.key == declaration.declaration_id.encode():
        return declaration
    return DecodeFailure(
        "SCHEMA",
        f"declaration_id {declaration.declaration_id!r} differs from the record key "
        f"{_text_or_none(record.key)!r}; versions must share one key",
        "$.declaration_id",
    )


def _hit(assessment: Assessment, filed: bytes | None) -> Hit:
    """The hit of an assessment, with the declaration as received: ``filed`` is the record's
    value, a JSON object by now (it was decoded), embedded as it is, not encoded again."""
    outcome = assessment.outcome
    if outcome not in REFERRALS:
        raise ValueError(f"no hit for the outcome {outcome!r}")
    return Hit(
        declaration_id=assessment.declaration_id,
        version=assessment.version,
        outcome=outcome,
        score=assessment.score,
        matches=assessment.matches,
        shadow_matches=assessment.shadow_matches,
        parties=assessment.parties,
        ruleset_version=assessment.ruleset_version,
        submitted_at=assessment.submitted_at,
        assessed_at=assessment.assessed_at,
        superseded_versions=assessment.superseded_versions,
        priority=PRIORITY[outcome],
        summary=summarise(outcome, assessment.score, assessment.matches),
        message_type=assessment.message_type,
        declaration=msgspec.UNSET if filed is None else msgspec.Raw(filed),
    )


def _text_or_none(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _house_record(
    declaration: Declaration, outcome: Outcome, invalidated: bool
) -> OutputRecord | None:
    """The filing's outcome under its master, for every worker's copy of the consolidations;
    an invalidation deletes it (it names no master, so the record is keyed by declaration)."""
    key = declaration.declaration_id.encode()
    if invalidated:
        return OutputRecord(topics.CONSOLIDATIONS, key, None)
    master = master_number_of(declaration)
    if master is None:
        return None
    filing = HouseFiling(master, declaration.declaration_id, declaration.version, outcome)
    return OutputRecord(topics.CONSOLIDATIONS, key, HOUSE_ENCODER.encode(filing))
