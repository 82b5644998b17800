"""Screen a file of recorded declarations with one or more rule sets, as the worker would.

Every line becomes an input record and goes through ``Screener.prepare`` and ``finish``, the
worker's own code, with an in-memory version ledger per rule set, so that amendments,
invalidations and late versions are treated exactly as in production. What the screener
produces is read from its batch result, as the structs it encoded into its output records: the
backtest reports what a worker would have published.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from pipeline import topics
from pipeline.contract.models import Assessment
from pipeline.errors import InputFileError
from pipeline.records import InputRecord
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import EvaluationSettings, RuleEvaluator
from pipeline.rules.model import RuleSet
from pipeline.screening.batch import Screener
from pipeline.screening.enrich import PartyLookup
from pipeline.screening.ledger import DictLedger
from pipeline.screening.outcome import Thresholds
from pipeline.settings import Settings

__all__ = ["RejectedLine", "Share", "Tally", "Verdict", "read_batches", "screenings", "share_key"]

# Large batches amortise Polars' per-batch cost; results do not depend on the batch size.
BATCH_SIZE = 5000
_ID_KEY = b'"declaration_id"'
_ID = re.compile(rb'"declaration_id"\s*:\s*"([A-Za-z0-9_-]{1,64})"')


@dataclass(frozen=True, slots=True)
class Verdict:
    """One declaration version as a worker would have assessed it."""

    sequence: int  # position of its message in the file
    declaration_id: str
    version: int
    outcome: str
    score: float
    rules: frozenset[str]  # rules that counted
    shadow_rules: frozenset[str]
    superseded_by: int | None = None

    @property
    def matched(self) -> frozenset[str]:
        return self.rules | self.shadow_rules


@dataclass(frozen=True, slots=True)
class RejectedLine:
    sequence: int
    line: int
    code: str
    message: str
    path: str | None = None  # JSON path of the field at fault, "$" for the whole document


@dataclass
class Tally:
    """What one rule set's screening produced, for the whole file or a share of it."""

    verdicts: list[Verdict] = field(default_factory=list)
    rejected: list[RejectedLine] = field(default_factory=list)
    hits: int = 0
    open_referrals: int = 0  # after the last message: what the compacted hits topic would hold

    @classmethod
    def merged(cls, shares: Sequence[Tally]) -> Tally:
        return cls(
            sorted((v for s in shares for v in s.verdicts), key=lambda v: v.sequence),
            sorted((r for s in shares for r in s.rejected), key=lambda r: r.sequence),
            sum(s.hits for s in shares),
            sum(s.open_referrals for s in shares),
        )


class RuleSetScreening:
    """One rule set's screener and version ledger, fed batch after batch in file order."""

    def __init__(self, screener: Screener) -> None:
        self.screener = screener
        self.ledger = DictLedger()
        self.tally = Tally()

    def screen(self, records: Sequence[InputRecord], lines: dict[int, int]) -> None:
        result = self.screener.screen(records, self.ledger)
        self.tally.hits += result.hits
        # The record's offset is the message's sequence number in the file.
        for record, assessment in result.assessed:
            self.tally.verdicts.append(_verdict(record.offset, assessment))
        for record, rejection in result.rejected:
            error = rejection.error
            self.tally.rejected.append(
                RejectedLine(
                    record.offset, lines[record.offset], error.code, error.message, error.path
                )
            )

    def finish(self) -> Tally:
        states = self.ledger.states.values()
        self.tally.open_referrals = sum(state.open_hit is not None for state in states)
        return self.tally


def screenings(
    rulesets: Sequence[RuleSet], settings: Settings, reference: PartyLookup | None
) -> list[RuleSetScreening]:
    """A screener per rule set, configured from ``settings`` as the worker configures its own."""
    scoring = settings.scoring
    evaluation = EvaluationSettings(
        aeo_score_reduction=scoring.aeo_score_reduction,
        random_selection_share=scoring.random_selection_share,
    )
    thresholds = Thresholds(rfi=scoring.rfi_threshold, hrcm=scoring.hrcm_threshold)
    return [
        RuleSetScreening(
            Screener(
                RuleEvaluator(CompiledRuleSet(ruleset), reference, evaluation),
                max_message_bytes=settings.batching.max_message_bytes,
                thresholds=thresholds,
            )
        )
        for ruleset in rulesets
    ]


@dataclass(frozen=True, slots=True)
class Share:
    """The declarations whose id falls in ``index`` of ``count`` shares, as Kafka partitions
    by key: every version of a declaration is in the same share, in file order."""

    index: int
    count: int

    def holds(self, value: bytes) -> bool:
        return share_key(value) % self.count == self.index


def share_key(value: bytes) -> int:
    """A number fixed by the message's declaration id (0 when it has none)."""
    found = _ID.search(value) if value.count(_ID_KEY) == 1 else None
    if found is not None:
        return zlib.crc32(found.group(1))
    # Unusual spellings (escapes, nested decoys): ask the JSON parser, as `screening send` does.
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return 0
    key = document.get("declaration_id") if isinstance(document, dict) else None
    return zlib.crc32(key.encode()) if isinstance(key, str) else 0


def read_batches(
    path: Path, share: Share | None = None, batch_size: int = BATCH_SIZE
) -> Iterator[tuple[list[InputRecord], dict[int, int], int]]:
    """Input records of up to ``batch_size`` messages, their line numbers, and the bytes read.

    A record's offset is its message's sequence number in the file. Records have no key:
    ``screening send`` keys each line by its own declaration id, which the screener's key
    check would accept.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputFileError(f"{path}: {exc.strerror}") from exc
    with handle:
        batch: list[InputRecord] = []
        lines: dict[int, int] = {}
        consumed = sequence = 0
        for number, line in enumerate(handle, start=1):
            consumed += len(line)
            # Split as ``screening send`` splits, so that both see the same messages.
            for value in line.splitlines():
                if not value.strip():
                    continue
                sequence += 1
                if share is None or share.holds(value):
                    batch.append(InputRecord(topics.DECLARATIONS, None, value, 0, sequence))
                    lines[sequence] = number
            if len(batch) >= batch_size:
                yield batch, lines, consumed
                batch, lines = [], {}
        yield batch, lines, consumed


def _verdict(sequence: int, assessment: Assessment) -> Verdict:
    return Verdict(
        sequence,
        assessment.declaration_id,
        assessment.version,
        assessment.outcome,
        assessment.score,
        frozenset(m.rule_id for m in assessment.matches),
        frozenset(m.rule_id for m in assessment.shadow_matches),
        assessment.superseded_by,
    )
