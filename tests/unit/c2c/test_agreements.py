"""Sharing agreements: the shipped ones load, and every problem is named with file and line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline import topics
from pipeline.c2c.agreements import AgreementsInvalid, load_agreements

ROOT = Path(__file__).resolve().parents[3]

VALID = """\
partner: CN
alias: cn
administration: General Administration of Customs of China
agreement: EU-CN SSTL 2023
valid_from: 2024-01-01
valid_to: 2027-12-31
review_by: 2027-06-30
owner: c2c-desk
send:
  RISK_FINDING:
    levels: [HIGH]
    categories: [SECURITY]
    fields: [container_ids]
  EXAMINATION_RESULT:
    results: [SEIZURE]
    fields: []
receive: [RISK_FINDING]
handling: C2C-RESTRICTED
aeo_registry: true
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(folder: Path) -> list[str]:
    with pytest.raises(AgreementsInvalid) as refused:
        load_agreements(folder)
    return [str(p) for p in refused.value.problems]


def test_the_shipped_agreements_load() -> None:
    agreements = load_agreements(ROOT / "agreements")
    assert set(agreements.by_partner) == {"CN", "US"}
    assert set(agreements.by_alias) == {"cn", "us"}
    for agreement in agreements:
        assert agreement.terms("RISK_FINDING") is not None
        assert agreement.inbound_topic == f"{agreement.alias}.customs.c2c.outbound.v1"


def test_a_valid_agreement_is_read_as_written(tmp_path: Path) -> None:
    write(tmp_path, "cn.yaml", VALID)
    (agreement,) = load_agreements(tmp_path)
    assert agreement.partner == "CN"
    assert agreement.reference == "EU-CN SSTL 2023"
    assert agreement.in_force(date(2026, 12, 5))
    assert not agreement.in_force(date(2028, 1, 1))
    assert not agreement.in_force(date(2023, 12, 31))
    terms = agreement.terms("RISK_FINDING")
    assert terms is not None
    assert terms.levels == {"HIGH"}
    assert terms.fields == {"container_ids"}
    assert agreement.terms("EXAMINATION_REQUEST") is None
    result = agreement.terms("EXAMINATION_RESULT")
    assert result is not None
    assert result.results == {"SEIZURE"}
    assert agreement.accepts("RISK_FINDING")
    assert not agreement.accepts("EXAMINATION_REQUEST")
    assert agreement.levels_by_outcome == {"DNL": "HIGH", "HRCM": "MEDIUM"}


def test_an_empty_folder_shares_nothing(tmp_path: Path) -> None:
    assert len(load_agreements(tmp_path)) == 0


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    assert problems(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: not a folder"]


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ("rule_id", "rule ids and what rules matched never leave"),
        ("matches", "rule ids and what rules matched never leave"),
        ("score", "scores never leave"),
        ("officer_note", "officers' notes never leave"),
        ("notes", "officers' notes never leave"),
        ("consignee", "personal data (party names, addresses, contacts) never leaves"),
        ("address", "personal data (party names, addresses, contacts) never leaves"),
        ("party_names", "personal data (party names, addresses, contacts) never leaves"),
        ("entry_id", "watch-list entries never leave"),
    ],
)
def test_fields_that_never_leave_are_refused_with_the_reason(
    tmp_path: Path, field: str, reason: str
) -> None:
    path = write(tmp_path, "cn.yaml", VALID.replace("[container_ids]", f"[container_ids, {field}]"))
    assert problems(tmp_path) == [f"{path}:13: `{field}` may not be shared: {reason}"]


def test_every_problem_is_listed_with_its_line(tmp_path: Path) -> None:
    text = (
        VALID.replace("partner: CN", "partner: China")
        .replace("alias: cn", "alias: CN_1")
        .replace("levels: [HIGH]", "levels: [HIGH, LOW]")
        .replace("categories: [SECURITY]", "categories: [SECURITY, GOSSIP]")
        .replace("[container_ids]", "[container_ids, hs_code]")
        .replace("receive: [RISK_FINDING]", "receive: [RISK_FINDING, GREETING]")
        .replace("handling: C2C-RESTRICTED", "handling: for your eyes only")
        .replace("aeo_registry: true", "aeo_registry: maybe")
        .replace("valid_to: 2027-12-31", "valid_to: 2023-12-31")
        .replace("review_by: 2027-06-30", "review_by: soon")
    )
    path = write(tmp_path, "cn.yaml", text)
    found = problems(tmp_path)
    assert found == [
        f"{path}:1: `partner` is an ISO 3166-1 alpha-2 country code, e.g. CN",
        f"{path}:2: `alias` is the MirrorMaker 2 cluster alias: a-z, 0-9 and -",
        f"{path}:6: `valid_to` is before `valid_from`",
        f"{path}:7: `review_by` is a date (YYYY-MM-DD); 'soon' is not",
        f"{path}:11: `LOW` in `send.RISK_FINDING.levels` is not one of HIGH, MEDIUM",
        f"{path}:12: `GOSSIP` in `send.RISK_FINDING.categories` is not one of "
        "SECURITY, SANCTIONS, IPR, DRUGS",
        f"{path}:13: `hs_code` is not a field an agreement can allow "
        "(transport_document_number, container_ids, summary)",
        f"{path}:17: `GREETING` in `receive` is not one of "
        "RISK_FINDING, EXAMINATION_REQUEST, EXAMINATION_RESULT",
        f"{path}:18: `handling` is a code of A-Z, 0-9 and -, e.g. C2C-RESTRICTED",
        f"{path}:19: `aeo_registry` is true or false",
    ]


def test_missing_and_unknown_keys(tmp_path: Path) -> None:
    text = VALID.replace("owner: c2c-desk\n", "").replace("aeo_registry: true", "aeo: true")
    path = write(tmp_path, "cn.yaml", text)
    found = problems(tmp_path)
    assert f"{path}:1: missing `owner`" in found
    assert f"{path}:1: missing `aeo_registry`" in found
    assert any(p.startswith(f"{path}:18: unknown key `aeo`") for p in found)


def test_norway_unquoted_is_explained(tmp_path: Path) -> None:
    path = write(tmp_path, "no.yaml", VALID.replace("partner: CN", "partner: NO"))
    assert problems(tmp_path) == [
        f"{path}:1: `partner` is read as true/false: quote the country code ('NO')"
    ]


def test_send_terms_by_kind(tmp_path: Path) -> None:
    text = VALID.replace(
        "    results: [SEIZURE]\n", "    results: [SEIZURE]\n    levels: [HIGH]\n"
    ).replace("    categories: [SECURITY]\n    fields: [container_ids]\n", "    fields: []\n")
    text += "levels_by_outcome: {RFI: HIGH, HRCM: LOW}\n"
    path = write(tmp_path, "cn.yaml", text)
    assert problems(tmp_path) == [
        f"{path}:10: `send.RISK_FINDING` needs `categories`",
        f"{path}:15: an examination result carries no `levels`",
        f"{path}:20: `RFI` cannot be shared: only DNL and HRCM referrals become findings",
        f"{path}:20: `LOW` is not one of HIGH, MEDIUM",
    ]


def test_a_partner_or_alias_twice_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "cn.yaml", VALID)
    second = write(tmp_path, "cn2.yaml", VALID.replace("alias: cn", "alias: cn-2"))
    third = write(tmp_path, "hk.yaml", VALID.replace("partner: CN", "partner: HK"))
    assert problems(tmp_path) == [
        f"{second}:1: partner CN is also in {tmp_path / 'cn.yaml'}",
        f"{third}:2: alias cn is also in {tmp_path / 'cn.yaml'}",
    ]


def test_broken_yaml_and_billion_laughs(tmp_path: Path) -> None:
    broken = write(tmp_path, "a.yaml", "partner: [CN\n")
    listed = write(tmp_path, "b.yaml", "- partner\n")
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(6)
    )
    bomb = write(tmp_path, "c.yaml", laughs)
    found = problems(tmp_path)
    assert found[0].startswith(f"{broken}:2: not valid YAML")
    assert found[1] == f"{listed}:1: an agreement file holds one mapping (partner, ...)"
    assert found[2].startswith(f"{bomb}:5: `e` expands through YAML aliases")


def test_the_partners_topic_follows_mirrormaker_default_policy() -> None:
    assert topics.partner_inbound_topic("nl") == "nl.customs.c2c.outbound.v1"
    spec = topics.spec(topics.C2C_OUTBOUND)
    assert spec.config["cleanup.policy"] == "delete"
    assert spec.config["retention.ms"] == str(30 * 24 * 3600 * 1000)
