"""What may leave for a partner, and what never does."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from pipeline.c2c.agreements import Agreement, Agreements, load_agreements
from pipeline.c2c.outbound import (
    countries_of,
    declaration_of,
    examination_request_message,
    examination_result_message,
    message_id,
    message_key,
    partners_concerned,
    risk_findings,
)
from pipeline.contract import models
from tests.factories import bare_declaration

HOME = "DE"
SENT = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
TAGS = {"WL-DNL": ("watch-list",), "HS-ARMS-93": ("hs-of-concern",), "TOT": ("totals",)}

AGREEMENT = """\
partner: {partner}
alias: {alias}
administration: Partner customs
agreement: Test agreement 2026
valid_from: 2024-01-01
review_by: 2027-06-30
owner: c2c-desk
send:
{send}
receive: [RISK_FINDING]
handling: C2C-RESTRICTED
aeo_registry: false
"""
ALL_SEND = """\
  RISK_FINDING:
    levels: [HIGH, MEDIUM]
    categories: [SECURITY, SANCTIONS]
    fields: [container_ids, transport_document_number, summary]
  EXAMINATION_REQUEST:
    levels: [HIGH]
    categories: [SECURITY, SANCTIONS]
    fields: [summary]
  EXAMINATION_RESULT:
    results: [SEIZURE, IRREGULARITY]
    fields: [container_ids]
"""


def agreements(tmp_path: Path, **sends: str) -> Agreements:
    """One agreement per partner country given, e.g. cn=ALL_SEND."""
    for alias, send in sends.items():
        text = AGREEMENT.format(partner=alias.upper(), alias=alias, send=send)
        (tmp_path / f"{alias}.yaml").write_text(text)
    return load_agreements(tmp_path)


def declaration(**changes: Any) -> models.Declaration:
    """A filing for Hamburg through Singapore, with every field a partner may be sent."""
    fields: dict[str, Any] = {
        "message_type": "FILING",
        "ucr": "6DE123456789-2026-000123",
        "declarant": {"name": "Fast Forwarding GmbH"},
        "consignor": {"name": "Shanghai Trading Ltd", "address": {"street": "1 Bund Rd"}},
        "consignee": {"name": "Erika Mustermann", "address": {"city": "Hamburg"}},
        "transport": {
            "mode": "SEA",
            "loading_location": "CNSHA",
            "discharge_location": "DEHAM",
            "routing_countries": ["CN", "SG", "DE"],
        },
        "transport_document": {"type": "MBL", "number": "MSCU1234567"},
        "equipment": [{"container_id": "CSQU3054383", "seals": ["S1"]}],
        "goods": [
            {
                "seq": 1,
                "hs_code": "930690",
                "description": "ammunition parts",
                "origin_country": "CN",
                "container_ids": ["CSQU3054383", "MSKU0000001"],
            }
        ],
    }
    fields.update(changes)
    return bare_declaration("DE-2026-000123", 2, "2026-12-05T09:00:00Z", **fields)


def match(rule_id: str, action: str = "DNL", score: float = 100.0) -> models.Match:
    return models.Match(
        rule_id=rule_id,
        rule_version=3,
        action=action,  # type: ignore[arg-type]
        score=score,
        reason="consignor Shanghai Trading Ltd is on list UN entry UN-QDe.123",
        evidence={"consignor.name": "Shanghai Trading Ltd", "entry_id": "UN-QDe.123"},
    )


def hit(outcome: str = "DNL", matches: list[models.Match] | None = None) -> models.Hit:
    return models.Hit(
        declaration_id="DE-2026-000123",
        version=2,
        outcome=outcome,  # type: ignore[arg-type]
        score=137.5,
        matches=matches if matches is not None else [match("WL-DNL"), match("HS-ARMS-93")],
        shadow_matches=[match("SHADOW-ONLY", score=42.0)],
        parties=[],
        ruleset_version="rs-abc123",
        submitted_at=SENT,
        assessed_at=SENT,
        superseded_versions=[1],
        priority=1,
        summary="DNL (score 137.5): consignor on list UN",
    )


def findings(tmp_path: Path, finding: models.Hit | models.Assessment | None = None, **kw: Any):
    filed = kw.pop("filed", None) or declaration()
    return risk_findings(
        finding or hit(),
        filed,
        agreements(tmp_path, **(kw or {"cn": ALL_SEND})),
        home=HOME,
        sent_at=SENT,
        tags_by_rule=TAGS,
    )


# --- which partners -------------------------------------------------------------------------


def test_countries_come_from_loading_routing_origin_and_discharge() -> None:
    filed = declaration(
        transport={"loading_location": "VNSGN", "discharge_location": "NLRTM"},
        goods=[{"origin_country": "KH"}],
    )
    assert countries_of(filed) == {"VN", "NL", "KH"}
    assert countries_of(declaration()) == {"CN", "SG", "DE"}
    assert countries_of(declaration(transport=None, goods=None)) == frozenset()


@pytest.mark.parametrize(
    ("transport", "goods", "expected"),
    [
        ({"loading_location": "CNSHA"}, [], ["CN"]),  # came from it
        ({"discharge_location": "USNYC"}, [], ["US"]),  # bound for it
        ({"routing_countries": ["VN", "US", "DE"]}, [], ["US"]),  # routed through it
        ({}, [{"origin_country": "CN"}], ["CN"]),  # originates in it
        ({"loading_location": "VNSGN", "discharge_location": "DEHAM"}, [], []),
        ({"loading_location": "DEHAM"}, [{"origin_country": "DE"}], []),  # ourselves
    ],
)
def test_partner_selection(
    tmp_path: Path, transport: dict[str, Any], goods: list[dict[str, Any]], expected: list[str]
) -> None:
    known = agreements(tmp_path, cn=ALL_SEND, us=ALL_SEND, de=ALL_SEND)
    filed = declaration(transport=transport, goods=goods)
    assert [a.partner for a in partners_concerned(filed, known, HOME)] == expected


def test_one_finding_for_each_partner_concerned(tmp_path: Path) -> None:
    filed = declaration(transport={"loading_location": "CNSHA", "discharge_location": "USNYC"})
    messages = findings(tmp_path, cn=ALL_SEND, us=ALL_SEND, nl=ALL_SEND, filed=filed)
    assert [m.to_administration for m in messages] == ["CN", "US"]
    assert {m.from_administration for m in messages} == {HOME}


# --- the message -----------------------------------------------------------------------------


def test_a_finding_as_the_agreement_allows(tmp_path: Path) -> None:
    (message,) = findings(tmp_path)
    assert message.kind == "RISK_FINDING"
    assert message.level == "HIGH"
    assert message.categories == ["SECURITY", "SANCTIONS"]
    assert message.ucr == "6DE123456789-2026-000123"
    assert message.declaration_ref == "DE-2026-000123"
    assert message.transport_document_number == "MSCU1234567"
    assert message.container_ids == ["CSQU3054383", "MSKU0000001"]
    assert message.handling == "C2C-RESTRICTED"
    assert message.sent_at == SENT
    assert message.summary == (
        "High risk (security, sanctions) assessed for the consignment loaded at CNSHA for "
        "DEHAM, for your own risk assessment."
    )
    assert message_key(message) == "6DE123456789-2026-000123"


def test_fields_the_agreement_does_not_allow_are_absent(tmp_path: Path) -> None:
    send = ALL_SEND.replace("[container_ids, transport_document_number, summary]", "[]")
    (message,) = findings(tmp_path, cn=send)
    encoded = json.loads(msgspec.json.encode(message))
    assert not {"container_ids", "transport_document_number", "summary"} & set(encoded)
    send = ALL_SEND.replace("[container_ids, transport_document_number, summary]", "[summary]")
    (message,) = findings(tmp_path, cn=send)
    assert set(json.loads(msgspec.json.encode(message))) == {
        "message_id",
        "kind",
        "from_administration",
        "to_administration",
        "declaration_ref",
        "handling",
        "sent_at",
        "ucr",
        "level",
        "categories",
        "summary",
    }


def test_nothing_of_rules_scores_entries_parties_or_notes_ever_leaves(tmp_path: Path) -> None:
    officer_note = "Officer K.: informant says container hides rifles"
    filed = declaration()
    finding = hit()
    messages = [
        *findings(tmp_path, finding, filed=filed),
        examination_request_message(
            finding,
            filed,
            load_agreements(tmp_path).by_partner["CN"],
            home=HOME,
            sent_at=SENT,
            tags_by_rule=TAGS,
        ),
    ]
    for message in messages:
        assert message is not None
        text = msgspec.json.encode(message).decode()
        for secret in (
            "WL-DNL",
            "HS-ARMS-93",
            "SHADOW-ONLY",
            "rs-abc123",
            "137.5",
            "100.0",
            "42.0",
            "UN-QDe.123",
            "Shanghai Trading",
            "Mustermann",
            "Fast Forwarding",
            "Bund Rd",
            "ammunition",
            officer_note,
            "score",
            "rule",
        ):
            assert secret not in text, secret


def test_the_summary_never_names_a_rule_score_or_entry(tmp_path: Path) -> None:
    (message,) = findings(tmp_path)
    assert message.summary is not None
    for word in ("WL-", "HS-", "137", "score", "UN-QDe", "list", "rule"):
        assert word not in message.summary


def test_message_ids_are_deterministic(tmp_path: Path) -> None:
    first = findings(tmp_path)[0]
    again = risk_findings(
        hit(),
        declaration(),
        load_agreements(tmp_path),
        home=HOME,
        sent_at=datetime(2026, 12, 6, tzinfo=UTC),
        tags_by_rule=TAGS,
    )[0]
    assert first.message_id == again.message_id
    assert first.message_id == message_id("DE-2026-000123", 2, "CN", "RISK_FINDING")
    assert message_id("DE-2026-000123", 3, "CN", "RISK_FINDING") != first.message_id
    assert message_id("DE-2026-000123", 2, "US", "RISK_FINDING") != first.message_id
    assert message_id("DE-2026-000123", 2, "CN", "EXAMINATION_REQUEST") != first.message_id


def test_the_key_is_the_declaration_id_without_a_ucr(tmp_path: Path) -> None:
    (message,) = findings(tmp_path, filed=declaration(ucr=None))
    assert message.ucr is None
    assert message_key(message) == "DE-2026-000123"


# --- what the agreement does not allow produces nothing ---------------------------------------


def test_a_kind_the_agreement_does_not_allow_produces_nothing(tmp_path: Path) -> None:
    only_results = "  EXAMINATION_RESULT:\n    fields: []\n"
    assert findings(tmp_path, cn=only_results) == []
    (agreement,) = load_agreements(tmp_path)
    request = examination_request_message(
        hit(), declaration(), agreement, home=HOME, sent_at=SENT, tags_by_rule=TAGS
    )
    assert request is None


def test_rfi_never_leaves_and_levels_follow_the_agreement(tmp_path: Path) -> None:
    assert findings(tmp_path, hit("RFI")) == []
    (medium,) = findings(tmp_path, hit("HRCM"))
    assert medium.level == "MEDIUM"
    high_only = ALL_SEND.replace("levels: [HIGH, MEDIUM]", "levels: [HIGH]")
    assert findings(tmp_path, hit("HRCM"), cn=high_only) == []
    text = AGREEMENT.format(partner="CN", alias="cn", send=high_only)
    (tmp_path / "cn.yaml").write_text(text + "levels_by_outcome: {HRCM: HIGH}\n")
    (raised,) = risk_findings(
        hit("HRCM"),
        declaration(),
        load_agreements(tmp_path),
        home=HOME,
        sent_at=SENT,
        tags_by_rule=TAGS,
    )
    assert raised.level == "HIGH"


def test_categories_are_limited_to_the_agreement(tmp_path: Path) -> None:
    security_only = ALL_SEND.replace(
        "categories: [SECURITY, SANCTIONS]\n    fields: [container_ids,",
        "categories: [SECURITY]\n    fields: [container_ids,",
    )
    (message,) = findings(tmp_path, cn=security_only)
    assert message.categories == ["SECURITY"]
    assert "sanctions" not in (message.summary or "")
    sanctions_only = hit(matches=[match("WL-DNL")])
    assert findings(tmp_path, sanctions_only, cn=security_only) == []


def test_an_agreement_out_of_force_sends_nothing(tmp_path: Path) -> None:
    ended = AGREEMENT.format(partner="CN", alias="cn", send=ALL_SEND).replace(
        "valid_from: 2024-01-01", "valid_from: 2024-01-01\nvalid_to: 2026-06-30"
    )
    (tmp_path / "cn.yaml").write_text(ended)
    found = risk_findings(
        hit(), declaration(), load_agreements(tmp_path), home=HOME, sent_at=SENT, tags_by_rule=TAGS
    )
    assert found == []


def test_a_superseded_assessment_sends_nothing(tmp_path: Path) -> None:
    fields = msgspec.structs.asdict(hit())
    for name in ("priority", "summary", "declaration"):
        fields.pop(name)
    assessment = models.Assessment(**fields)
    assert len(findings(tmp_path, assessment)) == 1
    superseded = msgspec.structs.replace(assessment, superseded_by=3)
    assert findings(tmp_path, superseded) == []


# --- requests and results ---------------------------------------------------------------------


def _cn(tmp_path: Path, send: str = ALL_SEND) -> Agreement:
    return agreements(tmp_path, cn=send).by_partner["CN"]


def test_an_examination_request(tmp_path: Path) -> None:
    request = examination_request_message(
        hit(),
        declaration(),
        _cn(tmp_path),
        home=HOME,
        sent_at=SENT,
        tags_by_rule=TAGS,
        in_reply_to="earlier-finding",
    )
    assert request is not None
    assert request.kind == "EXAMINATION_REQUEST"
    assert request.level == "HIGH"
    assert request.in_reply_to == "earlier-finding"
    assert request.container_ids is None  # the request's terms allow the summary only
    assert request.summary is not None
    assert request.summary.startswith("We request examination before loading")
    medium = examination_request_message(
        hit("HRCM"), declaration(), _cn(tmp_path), home=HOME, sent_at=SENT, tags_by_rule=TAGS
    )
    assert medium is None  # requests at HIGH only


def test_no_request_to_a_partner_the_consignment_does_not_concern(tmp_path: Path) -> None:
    elsewhere = declaration(
        transport={"loading_location": "VNSGN", "discharge_location": "DEHAM"}, goods=[]
    )
    request = examination_request_message(
        hit(), elsewhere, _cn(tmp_path), home=HOME, sent_at=SENT, tags_by_rule=TAGS
    )
    assert request is None


def _result(outcome: str) -> models.ExaminationResult:
    return models.ExaminationResult(
        declaration_id="DE-2026-000123",
        version=2,
        result=outcome,  # type: ignore[arg-type]
        examined_at=SENT,
        officer_ref="OFF-7",
    )


def test_an_examination_result(tmp_path: Path) -> None:
    message = examination_result_message(
        _result("SEIZURE"),
        declaration(),
        _cn(tmp_path),
        home=HOME,
        sent_at=SENT,
        in_reply_to="their-request",
    )
    assert message is not None
    assert message.kind == "EXAMINATION_RESULT"
    assert message.result == "SEIZURE"
    assert message.in_reply_to == "their-request"
    assert message.level is None
    assert message.categories == []
    assert message.container_ids == ["CSQU3054383", "MSKU0000001"]
    assert message.summary is None  # not allowed for results in this agreement
    assert "OFF-7" not in msgspec.json.encode(message).decode()
    assert message.message_id == message_id("DE-2026-000123", 2, "CN", "EXAMINATION_RESULT")


def test_a_result_the_agreement_does_not_cover_produces_nothing(tmp_path: Path) -> None:
    cn = _cn(tmp_path)
    for outcome in ("NO_FINDING", "NOT_EXAMINED"):
        message = examination_result_message(
            _result(outcome), declaration(), cn, home=HOME, sent_at=SENT
        )
        assert message is None
    no_results = ALL_SEND.split("  EXAMINATION_RESULT:")[0]
    message = examination_result_message(
        _result("SEIZURE"), declaration(), _cn(tmp_path, no_results), home=HOME, sent_at=SENT
    )
    assert message is None


def test_a_message_about_another_declaration_is_a_mistake(tmp_path: Path) -> None:
    other = msgspec.structs.replace(_result("SEIZURE"), declaration_id="OTHER")
    with pytest.raises(ValueError, match="another declaration"):
        examination_result_message(other, declaration(), _cn(tmp_path), home=HOME, sent_at=SENT)


# --- the filing inside a hit ------------------------------------------------------------------


def test_the_declaration_is_read_from_the_hit() -> None:
    filed = msgspec.json.encode(declaration())
    with_filing = msgspec.structs.replace(hit(), declaration=msgspec.Raw(filed))
    decoded = declaration_of(with_filing)
    assert decoded is not None
    assert decoded.ucr == "6DE123456789-2026-000123"
    assert declaration_of(hit()) is None


def test_every_message_validates_against_the_shipped_schema(tmp_path: Path) -> None:
    from jsonschema import Draft202012Validator

    from pipeline.contract.schemas import load_schema

    validator = Draft202012Validator(load_schema("partner_message"))
    cn = _cn(tmp_path)
    messages = [
        *risk_findings(
            hit(), declaration(), Agreements((cn,)), home=HOME, sent_at=SENT, tags_by_rule=TAGS
        ),
        examination_request_message(
            hit(), declaration(), cn, home=HOME, sent_at=SENT, tags_by_rule=TAGS
        ),
        examination_result_message(_result("SEIZURE"), declaration(), cn, home=HOME, sent_at=SENT),
    ]
    assert len(messages) == 3
    for message in messages:
        assert message is not None
        assert list(validator.iter_errors(json.loads(msgspec.json.encode(message)))) == []


# --- a partner's finding is not ours to pass on ---------------------------------------------


def _partner_match(partner: str = "CN") -> models.Match:
    return models.Match(
        rule_id="C2C-PARTNER-FINDING",
        rule_version=1,
        action="HRCM",
        score=60.0,
        reason=f"{partner} customs report a HIGH risk (SECURITY) on this consignment",
        evidence={
            "partner_finding_level": "HIGH",
            "partner_finding_partner": partner,
            "partner_finding_matched_by": "UCR",
        },
    )


def test_a_referral_resting_only_on_a_partners_finding_sends_nothing(tmp_path: Path) -> None:
    only = hit("HRCM", [_partner_match(), match("TOT", action="RFI", score=0.0)])
    assert findings(tmp_path, only, cn=ALL_SEND, us=ALL_SEND) == []


def test_our_own_finding_leaves_but_never_back_to_the_partner_that_reported(
    tmp_path: Path,
) -> None:
    both = hit("DNL", [_partner_match("CN"), match("WL-DNL")])
    filed = declaration(
        transport={
            "mode": "SEA",
            "loading_location": "CNSHA",
            "discharge_location": "DEHAM",
            "routing_countries": ["CN", "US", "DE"],
        }
    )
    sent = findings(tmp_path, both, filed=filed, cn=ALL_SEND, us=ALL_SEND)
    assert [m.to_administration for m in sent] == ["US"]
    assert sent[0].categories == ["SANCTIONS"]  # ours only: the partner's category stays out
