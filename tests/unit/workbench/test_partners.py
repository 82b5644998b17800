from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from pipeline.c2c.agreements import Agreements, load_agreements
from pipeline.c2c.outbound import examination_result_message
from pipeline.contract.models import ExaminationResult, PartnerMessage
from pipeline.errors import ConfigurationError
from pipeline.kafka import acls
from pipeline.settings import Settings
from pipeline.workbench import metrics, partner_inbound, partner_outbound, partners
from tests.factories import declaration

ROOT = Path(__file__).resolve().parents[3]
AGREEMENTS = load_agreements(ROOT / "agreements")
EXCHANGE = partners.Exchange(agreements=AGREEMENTS, home="NL")
CN_TOPIC = "cn.customs.c2c.outbound.v1"


class NoDatabase:
    """A refused message must not reach the database at all."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was used ({name}) for a refused message")


def request(**changes: Any) -> PartnerMessage:
    message = PartnerMessage(
        message_id="m-1",
        kind="EXAMINATION_REQUEST",
        from_administration="CN",
        to_administration="NL",
        declaration_ref="CN-IMP 42/7",
        handling="C2C-RESTRICTED",
        sent_at=datetime(2026, 12, 5, 10, 0, tzinfo=UTC),
        ucr="6CN123456789-0001",
        transport_document_number="COSU123",
        container_ids=["MSCU6639870"],
        level="HIGH",
        categories=["SECURITY"],
    )
    return msgspec.structs.replace(message, **changes)


def refused(reason: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "screening_workbench_partner_messages_refused_total", {"reason": reason}
    )
    return value or 0.0


def apply(value: bytes | None, topic: str = CN_TOPIC) -> str:
    return partner_inbound.apply_inbound(NoDatabase(), EXCHANGE, value, (topic, 0, 7))  # type: ignore[arg-type]


def test_partner_topics_are_recognised_by_their_mirrormaker_name() -> None:
    assert partners.is_inbound_topic(CN_TOPIC)
    assert partners.is_inbound_topic("us-east.customs.c2c.outbound.v1")
    assert not partners.is_inbound_topic("customs.c2c.outbound.v1")  # our own
    assert not partners.is_inbound_topic("nl.cn.customs.c2c.outbound.v1")  # replicated twice
    assert not partners.is_inbound_topic("customs.targeting.hits.v1")
    assert not partners.is_inbound_topic(None)


@pytest.mark.parametrize(
    ("value", "topic", "reason"),
    [
        (b"{not json", CN_TOPIC, "invalid"),
        (b'{"kind": "EXAMINATION_REQUEST"}', CN_TOPIC, "invalid"),
        (None, CN_TOPIC, "invalid"),
        (msgspec.json.encode(request()), "xx.customs.c2c.outbound.v1", "no_agreement"),
        (msgspec.json.encode(request(from_administration="US")), CN_TOPIC, "wrong_sender"),
    ],
)
def test_invalid_or_unexpected_messages_are_refused_and_counted(
    value: bytes | None, topic: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = refused(reason)
    assert apply(value, topic) == "refused"
    assert refused(reason) == before + 1
    # Logged without the payload.
    assert all("CN-IMP" not in r.getMessage() and "{" not in r.getMessage() for r in caplog.records)


def test_a_kind_the_agreement_does_not_accept_is_refused() -> None:
    receive_nothing = dataclasses.replace(AGREEMENTS.by_partner["CN"], receive=frozenset())
    exchange = partners.Exchange(
        agreements=Agreements((receive_nothing, AGREEMENTS.by_partner["US"])), home="NL"
    )
    before = refused("kind_not_accepted")
    value = msgspec.json.encode(request())
    result = partner_inbound.apply_inbound(NoDatabase(), exchange, value, (CN_TOPIC, 0, 1))  # type: ignore[arg-type]
    assert result == "refused"
    assert refused("kind_not_accepted") == before + 1


def test_messages_to_other_administrations_are_not_ours_to_apply() -> None:
    assert apply(msgspec.json.encode(request(to_administration="DE"))) == "not_for_us"


def test_a_result_answers_a_partners_request_from_the_request_alone() -> None:
    asked = request()
    filing = partners.filing_of_request(asked)
    assert filing.declaration_id == "CN-IMP-42-7"
    outcome = ExaminationResult(
        declaration_id=filing.declaration_id,
        version=1,
        result="NO_FINDING",
        examined_at=datetime(2026, 12, 5, 12, 0, tzinfo=UTC),
        officer_ref="officer",
    )
    message = examination_result_message(
        outcome,
        filing,
        AGREEMENTS.by_partner["CN"],
        home="NL",
        sent_at=datetime(2026, 12, 5, 12, 5, tzinfo=UTC),
        in_reply_to=asked.message_id,
    )
    assert message is not None
    assert (message.kind, message.to_administration, message.in_reply_to) == (
        "EXAMINATION_RESULT",
        "CN",
        "m-1",
    )
    assert message.result == "NO_FINDING"
    assert message.ucr == asked.ucr
    assert b"officer" not in msgspec.json.encode(message)


def test_no_agreements_folder_means_nothing_is_shared(tmp_path: Path) -> None:
    exchange = partners.Exchange.from_settings(
        Settings(agreements_dir=tmp_path / "absent", rules_dir=tmp_path / "no-rules")
    )
    assert len(exchange.agreements) == 0
    assert exchange.tags_by_rule == {}


def test_add_partner_grants_read_on_the_partners_topic_to_workbench_pipeline_and_archive() -> None:
    roles = acls.partner_roles("cn")
    assert [r.principal for r in roles] == [
        "screening-workbench",
        "screening-pipeline",
        "screening-archive",
    ]
    for role in roles:
        assert role.may("Read", "topic", CN_TOPIC)
        assert not role.may("Read", "topic", "us.customs.c2c.outbound.v1")
        assert not role.may("Write", "topic", CN_TOPIC)
    with pytest.raises(ConfigurationError, match="alias"):
        acls.partner_roles("CN.evil")


NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_a_request_is_refused_in_words_without_an_agreement_allowing_it() -> None:
    filing = declaration()  # loaded in CN, discharged in DE
    with pytest.raises(partners.PartnerRefused, match="no sharing agreement with JP"):
        partner_outbound.check_request(None, "JP", filing, "NL", NOW)
    no_requests = dataclasses.replace(
        AGREEMENTS.by_partner["CN"],
        send={k: v for k, v in AGREEMENTS.by_partner["CN"].send.items() if k == "RISK_FINDING"},
    )
    with pytest.raises(partners.PartnerRefused, match="does not allow examination requests"):
        partner_outbound.check_request(no_requests, "CN", filing, "NL", NOW)
    partner_outbound.check_request(AGREEMENTS.by_partner["CN"], "CN", filing, "NL", NOW)


def test_a_request_to_a_partner_the_consignment_does_not_concern_is_refused() -> None:
    filing = declaration()
    with pytest.raises(partners.PartnerRefused, match="does not concern US"):
        partner_outbound.check_request(AGREEMENTS.by_partner["US"], "US", filing, "NL", NOW)
    with pytest.raises(partners.PartnerRefused, match="does not concern CN"):
        partner_outbound.check_request(AGREEMENTS.by_partner["CN"], "CN", filing, "CN", NOW)
