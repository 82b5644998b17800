"""Partner administrations' messages: findings as facts for the rules, refusals dead-lettered,
and a partner's shared AEO registry."""

from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest

from pipeline import metrics, topics
from pipeline.c2c.agreements import load_agreements
from pipeline.c2c.inbound import PartnerInbound, PartnerRejection, check_message
from pipeline.contract.models import AeoRecord, Declaration, Party
from pipeline.errors import KafkaUnavailable, TopicMissing
from pipeline.kafka import mirror as mirror_module
from pipeline.kafka.mirror import TopicMirror
from pipeline.records import InputRecord
from pipeline.reference.aeo import AeoRegistry
from pipeline.reference.parties import ReferenceData
from pipeline.reference.partner_findings import PartnerFindings
from pipeline.reference.watchlist import Watchlist
from pipeline.rules.cases import run_cases
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.rules.model import RuleSet
from pipeline.settings import Settings
from tests.factories import bare_declaration

ROOT = Path(__file__).resolve().parents[3]
AGREEMENTS = load_agreements(ROOT / "agreements")
CN = AGREEMENTS.by_partner["CN"]
NOW = datetime(2026, 11, 20, 8, tzinfo=UTC)
RULE_ID = "C2C-PARTNER-FINDING"


def finding(**fields: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": "CN-MSG-1",
        "kind": "RISK_FINDING",
        "from_administration": "CN",
        "to_administration": "NL",
        "declaration_ref": "CN-EXP-77",
        "handling": "C2C-RESTRICTED",
        "sent_at": "2026-11-18T10:00:00Z",
        "ucr": "6CN12345678-0001",
        "container_ids": ["MSCU 663987-0"],
        "transport_document_number": "medu 1234567",
        "level": "HIGH",
        "categories": ["SECURITY"],
    }
    message.update(fields)
    return {k: v for k, v in message.items() if v is not None}


def declaration(**fields: Any) -> Declaration:
    document = {
        "submitted_at": "2026-11-20T08:00:00Z",
        "transport_document": {"type": "MBL", "number": "OTHER-DOC"},
        **fields,
    }
    return bare_declaration("D-1", **document)


def record(message: dict[str, Any] | bytes, offset: int = 0) -> InputRecord:
    value = message if isinstance(message, bytes) else orjson.dumps(message)
    return InputRecord("t", b"6CN12345678-0001", value, 0, offset, 0)


class Letters(list[tuple[bytes, bytes]]):
    def __call__(self, key: bytes, value: bytes) -> None:
        self.append((key, value))


def inbound(findings: PartnerFindings, letters: Letters | None = None) -> PartnerInbound:
    return PartnerInbound(CN, findings, letters, clock=lambda: NOW)


def received(kind: str, result: str) -> float:
    labels = {"partner": "CN", "kind": kind, "result": result}
    value = metrics.REGISTRY.get_sample_value("screening_partner_messages_received_total", labels)
    return value or 0.0


# --- indexing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "matched_by"),
    [
        ({"ucr": "6cn12345678 0001"}, "UCR"),
        ({"equipment": [{"container_id": "MSCU6639870"}]}, "CONTAINER"),
        ({"goods": [{"seq": 1, "container_ids": ["mscu-6639870"]}]}, "CONTAINER"),
        ({"transport_document": {"type": "MBL", "number": "MEDU1234567"}}, "TRANSPORT_DOCUMENT"),
        (
            {"transport_document": {"type": "HBL", "number": "H1", "master_number": "MEDU1234567"}},
            "TRANSPORT_DOCUMENT",
        ),
    ],
)
def test_a_finding_is_found_by_each_of_its_identifiers(
    fields: dict[str, Any], matched_by: str
) -> None:
    findings = PartnerFindings()
    inbound(findings).apply(record(finding()))
    assert findings.facts(declaration(**fields)) == {
        "partner_finding_level": "HIGH",
        "partner_finding_partner": "CN",
        "partner_finding_matched_by": matched_by,
        "partner_finding_categories": ["SECURITY"],
    }


def test_the_most_precise_match_is_reported() -> None:
    findings = PartnerFindings()
    inbound(findings).apply(record(finding()))
    both = declaration(ucr="6CN12345678-0001", equipment=[{"container_id": "MSCU6639870"}])
    assert findings.facts(both)["partner_finding_matched_by"] == "UCR"


def test_a_filing_that_names_none_of_them_has_no_facts() -> None:
    findings = PartnerFindings()
    inbound(findings).apply(record(finding()))
    assert findings.facts(declaration(ucr="OTHER", equipment=[{"container_id": "TGHU1"}])) == {}


def test_the_most_severe_finding_wins_and_all_categories_are_given() -> None:
    findings = PartnerFindings()
    apply = inbound(findings).apply
    apply(record(finding(message_id="M1", level="MEDIUM", categories=["IPR"])))
    apply(record(finding(message_id="M2", level="HIGH", categories=["DRUGS"], ucr=None)))
    facts = findings.facts(declaration(ucr="6CN12345678-0001", equipment=[]))
    assert facts["partner_finding_level"] == "MEDIUM"  # M2 names no UCR
    facts = findings.facts(
        declaration(ucr="6CN12345678-0001", equipment=[{"container_id": "MSCU6639870"}])
    )
    assert facts["partner_finding_level"] == "HIGH"
    assert facts["partner_finding_matched_by"] == "CONTAINER"
    assert facts["partner_finding_categories"] == ["DRUGS", "IPR"]


def test_a_message_sent_again_replaces_the_first() -> None:
    findings = PartnerFindings()
    apply = inbound(findings).apply
    apply(record(finding(level="HIGH")))
    apply(record(finding(level="MEDIUM", ucr="NEW-UCR"), offset=1))
    assert len(findings) == 1
    assert findings.facts(declaration(ucr="6CN12345678-0001")) == {}
    assert findings.facts(declaration(ucr="NEW-UCR"))["partner_finding_level"] == "MEDIUM"


# --- the window ------------------------------------------------------------------------------


def test_a_finding_applies_for_its_window_from_sent_at() -> None:
    findings = PartnerFindings(timedelta(days=30))
    inbound(findings).apply(record(finding(sent_at="2026-11-18T10:00:00Z")))
    assert findings.facts(declaration(ucr="6CN12345678-0001", submitted_at="2026-12-18T09:00:00Z"))
    assert not findings.facts(
        declaration(ucr="6CN12345678-0001", submitted_at="2026-12-18T11:00:00Z")
    )


def test_a_finding_past_its_window_when_read_is_not_kept() -> None:
    findings = PartnerFindings(timedelta(days=1))
    inbound(findings).apply(record(finding(sent_at="2026-11-10T10:00:00Z")))
    assert len(findings) == 0


def test_a_finding_sent_before_the_filing_arrives_is_applied_when_it_does() -> None:
    findings = PartnerFindings()
    inbound(findings).apply(record(finding(sent_at="2026-11-19T10:00:00Z")))
    # The filing is submitted a day later: the copy already holds the finding.
    filing = declaration(ucr="6CN12345678-0001", submitted_at="2026-11-20T10:00:00Z")
    assert findings.facts(filing)["partner_finding_partner"] == "CN"


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code", "kind"),
    [
        (b"{not json", "INVALID_JSON", "UNKNOWN"),
        (orjson.dumps(finding(level=7)), "SCHEMA", "RISK_FINDING"),
        (orjson.dumps(finding(kind="GOSSIP")), "SCHEMA", "UNKNOWN"),
        (orjson.dumps(finding(sent_at=None)), "SCHEMA", "RISK_FINDING"),
        (orjson.dumps(finding(level=None)), "SCHEMA", "RISK_FINDING"),
        (orjson.dumps(finding(categories=[])), "SCHEMA", "RISK_FINDING"),
        (orjson.dumps(finding(from_administration="US")), "WRONG_PARTNER", "RISK_FINDING"),
    ],
)
def test_bad_messages_are_refused_with_the_reason(raw: bytes, code: str, kind: str) -> None:
    refusal = check_message(raw, CN)
    assert getattr(refusal, "code", None) == code
    assert getattr(refusal, "kind", None) == kind


def test_a_kind_the_agreement_does_not_accept_is_refused_and_dead_lettered() -> None:
    requests_only = dataclasses.replace(CN, receive=frozenset({"EXAMINATION_REQUEST"}))
    refusal = check_message(orjson.dumps(finding()), requests_only)
    assert getattr(refusal, "code", None) == "KIND_NOT_ACCEPTED"
    findings = PartnerFindings()
    letters = Letters()
    PartnerInbound(requests_only, findings, letters, clock=lambda: NOW).apply(record(finding()))
    assert len(findings) == 0
    assert len(letters) == 1


def test_a_refused_message_is_counted_dead_lettered_and_never_applied() -> None:
    findings = PartnerFindings()
    letters = Letters()
    before = received("RISK_FINDING", "refused")
    applied = received("RISK_FINDING", "applied")
    inbound(findings, letters).apply(record(finding(from_administration="US"), offset=41))
    assert len(findings) == 0
    assert received("RISK_FINDING", "refused") == before + 1
    assert received("RISK_FINDING", "applied") == applied
    [(key, value)] = letters
    # Every worker writes the same key for the same message: the compacted topic keeps one.
    assert key == f"{topics.partner_inbound_topic('cn')}/0/41".encode()
    rejection = msgspec.json.decode(value, type=PartnerRejection)
    assert rejection.partner == "CN"
    assert rejection.error.code == "WRONG_PARTNER"
    assert rejection.source.offset == 41
    assert base64.b64decode(rejection.original) == orjson.dumps(finding(from_administration="US"))


def test_an_applied_finding_is_counted() -> None:
    before = received("RISK_FINDING", "applied")
    inbound(PartnerFindings()).apply(record(finding()))
    assert received("RISK_FINDING", "applied") == before + 1


def test_an_accepted_examination_request_is_left_to_the_workbench() -> None:
    findings = PartnerFindings()
    letters = Letters()
    request = finding(kind="EXAMINATION_REQUEST")
    inbound(findings, letters).apply(record(request))
    assert len(findings) == 0
    assert not letters


def test_the_inbound_dead_letter_topic_is_compacted_by_source() -> None:
    spec = topics.spec(topics.C2C_INBOUND_DLQ)
    assert spec.config["cleanup.policy"] == "compact,delete"


# --- the rule --------------------------------------------------------------------------------


def test_the_partner_rule_passes_its_cases_and_refers_hrcm() -> None:
    ruleset = load_ruleset(ROOT / "rules")
    [rule] = [r for r in ruleset.rules if r.id == RULE_ID]
    single = RuleSet((rule,), ruleset.lists, ruleset.list_entries, ruleset.version)
    assert run_cases(single) == []
    assert rule.action == "HRCM"


def test_the_worker_reference_data_gives_the_rule_its_facts(empty_reference: ReferenceData) -> None:
    ruleset = load_ruleset(ROOT / "rules")
    [rule] = [r for r in ruleset.rules if r.id == RULE_ID]
    compiled = CompiledRuleSet(RuleSet((rule,), ruleset.lists, ruleset.list_entries, "t"))
    reference = empty_reference
    inbound(reference.partner_findings).apply(record(finding()))
    [evaluation] = RuleEvaluator(compiled, reference).evaluate_declarations(
        [declaration(ucr="6CN12345678-0001")]
    )
    [match] = evaluation.matches
    assert match.action == "HRCM"
    assert match.evidence["partner_finding_partner"] == "CN"
    for words in ("CN", "HIGH", "UCR"):
        assert words in match.reason


# --- a partner's shared AEO registry ---------------------------------------------------------


def aeo_record(**fields: Any) -> bytes:
    document: dict[str, Any] = {
        "operator_id": "CN9876543210",
        "scheme": "AEO",
        "name": "NINGBO HOMEWARE MANUFACTURING",
        "country": "CN",
        "aeo_type": "AEO-ADVANCED",
        "status": "ACTIVE",
        "valid_from": "2024-01-01",
        "valid_to": None,
        "mra_partner": None,
    }
    document.update(fields)
    return msgspec.json.encode(msgspec.convert(document, AeoRecord))


def party(value: str = "cn 9876543210") -> Party:
    return msgspec.convert({"name": "NINGBO", "ids": [{"scheme": "AEO", "value": value}]}, Party)


def test_a_partner_registry_record_is_an_mra_record_of_that_partner(
    empty_reference: ReferenceData,
) -> None:
    reference = empty_reference
    # Whatever the record says: the agreement's partner is who vouches for it.
    reference.partner_aeo("CN")(b"CN9876543210", aeo_record(mra_partner="US"))
    facts, status = reference.lookup(declaration(), "consignor", party())
    assert status.source == "MRA:CN"
    assert status.status == "ACTIVE"
    assert facts.aeo_security is True


def test_a_partner_tombstone_deletes_only_that_partners_record() -> None:
    registry = AeoRegistry()
    registry.put(msgspec.json.decode(aeo_record(aeo_type="AEOS"), type=AeoRecord))
    reference = ReferenceData(registry, Watchlist())
    apply = reference.partner_aeo("CN")
    apply(b"CN9876543210", aeo_record())
    assert (len(registry), registry.shared_count) == (1, 1)
    apply(b"CN9876543210", None)
    assert (len(registry), registry.shared_count) == (1, 0)
    finding_ = registry.lookup(party(), date(2026, 11, 20))
    assert finding_.source == "REGISTRY"


# --- a partner's topic that MirrorMaker 2 has not created yet ----------------------------------


class _LateTopic:
    """A TopicReader stand-in whose topic appears at the third attempt, with one record."""

    attempts = 0

    def __init__(self, settings: Settings, topic: str) -> None:
        type(self).attempts += 1
        if type(self).attempts < 3:
            raise TopicMissing(f"topic {topic} does not exist")
        self.caught_up = False
        self._records = [InputRecord("t", b"k", b"v", 0, 0, 0)]

    def poll(self, timeout_s: float, max_records: int = 500) -> Iterator[InputRecord]:
        yield from self._records
        self._records = []
        self.caught_up = True

    def close(self) -> None:
        pass


def test_an_optional_mirror_reads_a_missing_topic_as_empty_until_it_appears(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _LateTopic.attempts = 0
    monkeypatch.setattr(mirror_module, "TopicReader", _LateTopic)
    seen: list[tuple[bytes | None, bytes | None]] = []
    mirror = TopicMirror(
        Settings().kafka,
        "cn.customs.c2c.outbound.v1",
        lambda k, v: seen.append((k, v)),
        optional=True,
        retry_s=0.01,
    ).start()
    try:
        mirror.wait(5)  # caught up while the topic is missing: the worker may start
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen == [(b"k", b"v")]
        assert mirror.failed is None
    finally:
        mirror.stop()


def test_a_mirror_of_our_own_topic_fails_when_it_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _LateTopic.attempts = 0
    monkeypatch.setattr(mirror_module, "TopicReader", _LateTopic)
    mirror = TopicMirror(Settings().kafka, topics.AEO_REGISTRY, lambda k, v: None).start()
    with pytest.raises(KafkaUnavailable, match="does not exist"):
        mirror.wait(5)
    mirror.stop()
