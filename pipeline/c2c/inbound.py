"""What partner administrations send: checked, applied or refused, counted.

Every worker reads every message of each partner it accepts findings from (a ``TopicMirror`` of
``<alias>.customs.c2c.outbound.v1``, as MirrorMaker 2 names it here). A message is applied only
when it meets the contract (PartnerMessage, and a RISK_FINDING's level and categories), comes
from the agreement's partner and is of a kind the agreement accepts. Any other is refused:
counted (``screening_partner_messages_received_total``), logged without its content, and
dead-lettered to ``customs.c2c.inbound.dlq.v1`` with the reason. Every worker reads the same
messages, so every worker dead-letters the same refusal: the record is keyed by where the
message was read (topic, partition, offset) and the topic is compacted, so the copies are one.

Accepted kinds other than RISK_FINDING (examination requests and results) are for the officers'
workbench; the worker checks them and refuses the bad ones, and leaves the others alone.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import msgspec
from confluent_kafka import KafkaError, Message, Producer

from pipeline import metrics, topics
from pipeline.c2c.agreements import Agreement
from pipeline.contract.models import PartnerMessage
from pipeline.kafka.producer import producer_config
from pipeline.records import InputRecord
from pipeline.reference.partner_findings import PartnerFindings, finding_of
from pipeline.settings import KafkaSettings

__all__ = ["DeadLetters", "PartnerInbound", "PartnerRejection", "check_message"]

log = logging.getLogger(__name__)

RefusalCode = Literal["INVALID_JSON", "SCHEMA", "KIND_NOT_ACCEPTED", "WRONG_PARTNER"]
_DECODER = msgspec.json.Decoder(PartnerMessage)
_KINDS = ("RISK_FINDING", "EXAMINATION_REQUEST", "EXAMINATION_RESULT")
UNKNOWN_KIND = "UNKNOWN"  # the label of a message whose kind cannot be read


@dataclass(frozen=True, slots=True)
class Refusal:
    code: RefusalCode
    message: str
    kind: str  # for the metric: the message's kind when it has one of the contract's


class RefusalError(msgspec.Struct):
    code: str
    message: str


class RefusalSource(msgspec.Struct):
    topic: str
    partition: int
    offset: int


class PartnerRejection(msgspec.Struct):
    """A record of ``customs.c2c.inbound.dlq.v1``."""

    partner: str
    error: RefusalError
    source: RefusalSource
    received_at: datetime
    original: str  # base64 of the raw bytes


_ENCODER = msgspec.json.Encoder()


def check_message(raw: bytes, agreement: Agreement) -> PartnerMessage | Refusal:
    """The message if the agreement lets it be applied, else why not. Pure."""
    try:
        message = _DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        return Refusal("SCHEMA", str(exc), _kind_of(raw))
    except msgspec.DecodeError as exc:
        return Refusal("INVALID_JSON", str(exc), UNKNOWN_KIND)
    if message.kind == "RISK_FINDING" and (message.level is None or not message.categories):
        return Refusal("SCHEMA", "a RISK_FINDING needs `level` and `categories`", message.kind)
    if message.from_administration != agreement.partner:
        return Refusal(
            "WRONG_PARTNER",
            f"from_administration {message.from_administration} on the topic of "
            f"{agreement.partner} ({agreement.alias})",
            message.kind,
        )
    if not agreement.accepts(message.kind):
        return Refusal(
            "KIND_NOT_ACCEPTED",
            f"the agreement with {agreement.partner} does not accept {message.kind}",
            message.kind,
        )
    return message


def _kind_of(raw: bytes) -> str:
    """The kind of a message that failed the contract, if it states one of the contract's."""
    try:
        kind = msgspec.json.decode(raw, type=dict[str, object]).get("kind")
    except (msgspec.DecodeError, msgspec.ValidationError):
        return UNKNOWN_KIND
    return kind if isinstance(kind, str) and kind in _KINDS else UNKNOWN_KIND


DeadLetter = Callable[[bytes, bytes], None]  # key, value


class DeadLetters:
    """Produces refusals to ``customs.c2c.inbound.dlq.v1`` from the mirror threads."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._producer = Producer(producer_config(kafka))

    def __call__(self, key: bytes, value: bytes) -> None:
        self._producer.produce(topics.C2C_INBOUND_DLQ, value, key, on_delivery=_delivered)
        self._producer.poll(0)

    def close(self, timeout_s: float = 10.0) -> None:
        self._producer.flush(timeout_s)


def _delivered(error: KafkaError | None, message: Message) -> None:
    if error is not None:
        log.error("partner message dead letter not delivered: %s", error.str())


class PartnerInbound:
    """Applies one partner's messages, as they are read from its inbound topic."""

    def __init__(
        self,
        agreement: Agreement,
        findings: PartnerFindings,
        dead_letter: DeadLetter | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.agreement = agreement
        self._findings = findings
        self._dead_letter = dead_letter
        self._clock = clock

    def apply(self, record: InputRecord) -> None:
        if record.value is None:
            return  # a tombstone says nothing on a topic of messages
        checked = check_message(record.value, self.agreement)
        if isinstance(checked, Refusal):
            self._refuse(record, checked)
            return
        if checked.kind == "RISK_FINDING":
            self._findings.add(finding_of(checked, self.agreement.partner), self._clock())
            self._count(checked.kind, "applied")

    def _count(self, kind: str, result: str) -> None:
        metrics.PARTNER_MESSAGES.labels(self.agreement.partner, kind, result).inc()

    def _refuse(self, record: InputRecord, refusal: Refusal) -> None:
        self._count(refusal.kind, "refused")
        topic = self.agreement.inbound_topic
        # The code and where it was read, never the content.
        log.warning(
            "partner message refused: %s at %s/%d/%d (%s)",
            refusal.code,
            topic,
            record.partition,
            record.offset,
            self.agreement.partner,
        )
        if self._dead_letter is None:
            return
        rejection = PartnerRejection(
            partner=self.agreement.partner,
            error=RefusalError(refusal.code, refusal.message),
            source=RefusalSource(topic, record.partition, record.offset),
            received_at=self._clock(),
            original=base64.b64encode(record.value or b"").decode("ascii"),
        )
        key = f"{topic}/{record.partition}/{record.offset}".encode()
        self._dead_letter(key, _ENCODER.encode(rejection))
