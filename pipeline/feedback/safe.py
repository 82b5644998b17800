"""SAFE performance measures (WCO SAFE Framework, standard 8) over a period of days.

Filings screened, referred by outcome, examined (high-risk and at random) and what was found,
and the messages exchanged with partner administrations. Pure counting over records, so that
it is tested without Kafka; ``screening report safe`` reads the topics and feeds them in.

Assessments and examination results go through the examination join of
``pipeline.feedback.feed``, so that a declaration version counts once however often its
records are delivered, exactly as in ``screening rules effectiveness``. The period is decided
by the records' content: an assessment by its ``assessed_at``, a partner message by its
``sent_at``. An examination result counts with the period of the version it examined, so the
measures say what became of the filings screened in the period.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, get_args

import msgspec

from pipeline import topics
from pipeline.contract.models import ExaminationOutcome, PartnerMessage, PartnerMessageKind
from pipeline.errors import ScreeningError
from pipeline.feedback.feed import DictJoinStore, feed
from pipeline.feedback.join import JoinEntry, entry_key
from pipeline.feedback.stats import EXAMINED, FINDINGS, ratio
from pipeline.records import InputRecord
from pipeline.rules.evaluator import RANDOM_RULE_ID

__all__ = [
    "MESSAGE_KINDS",
    "PARTNER_TOPIC",
    "REFERRAL_OUTCOMES",
    "RESULTS",
    "RETENTION_DAYS",
    "Period",
    "PeriodError",
    "SafeMeasures",
    "parse_period",
    "retention_warnings",
]

RESULTS: tuple[str, ...] = get_args(ExaminationOutcome)
MESSAGE_KINDS: tuple[str, ...] = get_args(PartnerMessageKind)
REFERRAL_OUTCOMES = ("RFI", "HRCM", "DNL")  # in order of severity
HIGH_RISK = ("HRCM", "DNL")
# What MirrorMaker 2 names a partner's outbound topic here (topics.partner_inbound_topic).
PARTNER_TOPIC = re.compile(r"^[a-z0-9-]+\.customs\.c2c\.outbound\.v1$")
# The assessments topic keeps 30 days (retention.ms); an earlier day may be partly gone.
RETENTION_DAYS = int(topics.spec(topics.ASSESSMENTS).config["retention.ms"]) // 86_400_000

Direction = Literal["sent", "received"]


class PeriodError(ScreeningError, ValueError):
    """The period given is not two dates, the first not after the second."""


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days in UTC, both ends included."""

    start: date
    end: date

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment.astimezone(UTC).date() <= self.end


def parse_period(start: str, end: str) -> Period:
    """The period from ``--from`` and ``--to``; PeriodError says what is wrong, in one line."""
    dates = []
    for option, text in (("--from", start), ("--to", end)):
        try:
            dates.append(datetime.strptime(text, "%Y-%m-%d").date())
        except ValueError:
            raise PeriodError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None
    period = Period(*dates)
    if period.start > period.end:
        raise PeriodError(f"--from {period.start} is after --to {period.end}")
    return period


def retention_warnings(period: Period, today: date) -> list[str]:
    """Why figures for the period may be incomplete; the period is not refused for it."""
    kept_from = today - timedelta(days=RETENTION_DAYS)
    if period.start >= kept_from:
        return []
    return [
        f"Kafka keeps assessments for {RETENTION_DAYS} days: days before {kept_from} may be "
        "missing from these figures, in part or entirely"
    ]


class _Stamp(msgspec.Struct):
    """What the period filter reads of an assessment; the join decodes the rest."""

    declaration_id: str
    version: int
    outcome: str
    assessed_at: datetime


_STAMP = msgspec.json.Decoder(_Stamp)
_MESSAGE = msgspec.json.Decoder(PartnerMessage)


class SafeMeasures:
    """Feed it assessments, examination results and partner messages; ``report`` counts."""

    def __init__(self, period: Period) -> None:
        self.period = period
        self._store = DictJoinStore()
        self._invalidated: set[str] = set()
        self._messages: dict[Direction, Counter[tuple[str, str]]] = {
            "sent": Counter(),
            "received": Counter(),
        }
        self._seen: set[tuple[Direction, str, str]] = set()
        self._unreadable: Counter[str] = Counter()
        self._partner_topics: set[str] = set()

    def add_assessments(self, records: Iterable[InputRecord]) -> None:
        result = feed(self._in_period(records), self._store)
        self._unreadable["assessments"] += result.unreadable_assessments

    def add_examination_results(self, records: Iterable[InputRecord]) -> None:
        self._unreadable["examination_results"] += feed(records, self._store).malformed

    def add_partner_messages(self, records: Iterable[InputRecord]) -> None:
        """Ours from customs.c2c.outbound.v1 (by partner addressed), a partner's from its
        replicated topic (by the partner it came from)."""
        for record in records:
            if record.value is None:
                continue  # nothing was sent
            direction: Direction = "sent" if record.topic == topics.C2C_OUTBOUND else "received"
            try:
                message = _MESSAGE.decode(record.value)
            except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
                # Not a PartnerMessage (a partner's software may differ): counted, not read.
                self._unreadable["partner_messages"] += 1
                continue
            if message.sent_at not in self.period:
                continue
            partner = (
                message.to_administration if direction == "sent" else message.from_administration
            )
            # The same message_id is the same message sent again (a replay): it counts once.
            seen = (direction, partner, message.message_id)
            if seen in self._seen:
                continue
            self._seen.add(seen)
            self._messages[direction][partner, message.kind] += 1

    def note_partner_topic(self, topic: str) -> None:
        """A partner's topic read, whether or not it held anything in the period."""
        self._partner_topics.add(topic)

    def _in_period(self, records: Iterable[InputRecord]) -> Iterator[InputRecord]:
        for record in records:
            if record.value is None:
                continue  # a tombstone of compaction: nothing to count
            try:
                stamp = _STAMP.decode(record.value)
            except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
                # Without a readable assessed_at it belongs to no period: counted, not used.
                self._unreadable["assessments"] += 1
                continue
            if stamp.assessed_at not in self.period:
                continue
            if stamp.outcome == "INVALIDATED":
                self._invalidated.add(entry_key(stamp.declaration_id, stamp.version))
            yield record

    def report(self, today: date) -> dict[str, Any]:
        """One JSON-ready document; a ratio with a zero denominator is None."""
        screened = {
            key: entry
            for key, entry in self._store.entries.items()
            if entry.assessed and key not in self._invalidated
        }
        by_outcome = Counter(entry.status for entry in screened.values() if entry.referred)
        referred = sum(by_outcome.values())
        total = len(screened)
        entries = list(screened.values())
        return {
            "period": {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()},
            "retention_days": RETENTION_DAYS,
            "warnings": retention_warnings(self.period, today),
            "filings": {
                "screened": total,
                "referred": referred,
                "referred_share": ratio(referred, total),
                "by_outcome": {
                    outcome: {
                        "count": by_outcome[outcome],
                        "share": ratio(by_outcome[outcome], total),
                    }
                    for outcome in REFERRAL_OUTCOMES
                },
            },
            "examinations": {
                "all": _examined([e for e in entries if e.result is not None]),
                "high_risk": _examined([e for e in entries if e.status in HIGH_RISK]),
                "random": _examined([e for e in entries if RANDOM_RULE_ID in e.rule_ids]),
                "not_in_period": sum(
                    1 for entry in self._store.entries.values() if not entry.assessed
                ),
            },
            "partners": self._partners(),
            "partner_topics": sorted(self._partner_topics),
            "unreadable": {
                kind: self._unreadable[kind]
                for kind in ("assessments", "examination_results", "partner_messages")
            },
        }

    def _partners(self) -> list[dict[str, Any]]:
        names = sorted({partner for counts in self._messages.values() for partner, _ in counts})
        rows = []
        for partner in names:
            row: dict[str, Any] = {"partner": partner}
            for direction, counts in self._messages.items():
                kinds = {kind: counts[partner, kind] for kind in MESSAGE_KINDS}
                row[direction] = {**kinds, "total": sum(kinds.values())}
            rows.append(row)
        return rows


def _examined(entries: list[JoinEntry]) -> dict[str, Any]:
    """The versions of a group (high-risk, random, all with a result) and their results.

    ``examined`` leaves NOT_EXAMINED out; the hit rate is findings per examination.
    """
    results = Counter(entry.result for entry in entries if entry.result is not None)
    examined = sum(results[kind] for kind in EXAMINED)
    findings = sum(results[kind] for kind in FINDINGS)
    return {
        "consignments": len(entries),
        "examined": examined,
        "results": {kind: results[kind] for kind in RESULTS},
        "findings": findings,
        "hit_rate": ratio(findings, examined),
    }
