"""The AEO registry: status on a date, partner programmes, claims, and several ids at once."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from pipeline.contract.models import AeoRecord, Party, PartyId, PartyStatus
from pipeline.reference.aeo import DEFAULT_MRA_PARTNERS, AeoFinding, AeoRegistry, to_party_status

ON = date(2026, 11, 27)


def record(operator_id: str, **fields: Any) -> AeoRecord:
    values: dict[str, Any] = {
        "scheme": "AEO",
        "name": f"Operator {operator_id}",
        "country": "DE",
        "aeo_type": "AEOF",
        "status": "ACTIVE",
        "valid_from": date(2020, 1, 1),
        "valid_to": None,
        "mra_partner": None,
    }
    values.update(fields)
    return AeoRecord(operator_id=operator_id, **values)


def party(*ids: tuple[str, str]) -> Party:
    return Party(name="Some Company GmbH", ids=[PartyId(s, v) for s, v in ids])  # type: ignore[arg-type]


def registry(*records: AeoRecord, **options: Any) -> AeoRegistry:
    reg = AeoRegistry(**options)
    for r in records:
        reg.put(r)
    return reg


# --- validity -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "status"),
    [
        (date(2023, 12, 31), "EXPIRED"),  # not yet valid
        (date(2024, 1, 1), "ACTIVE"),  # first day
        (date(2025, 6, 30), "ACTIVE"),
        (date(2025, 12, 31), "ACTIVE"),  # last day
        (date(2026, 1, 1), "EXPIRED"),
    ],
)
def test_active_only_inside_the_validity_window(on: date, status: str) -> None:
    reg = registry(
        record("DEAEOF0000000001", valid_from=date(2024, 1, 1), valid_to=date(2025, 12, 31))
    )
    finding = reg.lookup(party(("AEO", "DEAEOF0000000001")), on)
    assert finding.status == status
    assert finding.security is (status == "ACTIVE")


def test_open_window_is_active_at_any_date() -> None:
    reg = registry(record("DEAEOS0000000002", valid_from=None, valid_to=None, aeo_type="AEOS"))
    for on in (date(1990, 1, 1), ON, date(2100, 1, 1)):
        assert reg.lookup(party(("AEO", "DEAEOS0000000002")), on).status == "ACTIVE"


@pytest.mark.parametrize("status", ["SUSPENDED", "REVOKED"])
def test_suspended_and_revoked_are_reported_as_recorded(status: str) -> None:
    reg = registry(record("DEAEOF0000000003", status=status))
    finding = reg.lookup(party(("AEO", "DEAEOF0000000003")), ON)
    assert finding.status == status
    assert finding.security is False
    assert finding.claimed is True


# --- programmes and security ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("aeo_type", "security"), [("AEOF", True), ("AEOS", True), ("AEOC", False)]
)
def test_home_programme_security_types(aeo_type: str, security: bool) -> None:
    reg = registry(record("NLAEO1", aeo_type=aeo_type, country="NL"))
    finding = reg.lookup(party(("AEO", "NLAEO1")), ON)
    assert finding == AeoFinding("NLAEO1", aeo_type, "ACTIVE", "REGISTRY", security, True)


@pytest.mark.parametrize(
    ("partner", "aeo_type", "security"),
    [
        ("US", "CTPAT", True),
        ("JP", "AEOS", True),
        ("CN", "AEOF", True),
        ("GB", "AEOF", True),
        ("GB", "AEOC", False),  # mutual recognition covers security AEOs only
        ("CA", "PIP", False),  # not a partner of the EU
    ],
)
def test_partner_programmes_count_only_when_recognised(
    partner: str, aeo_type: str, security: bool
) -> None:
    reg = registry(
        record("P1", scheme="CTPAT", country=partner, aeo_type=aeo_type, mra_partner=partner)
    )
    finding = reg.lookup(party(("CTPAT", "P1")), ON)
    assert (finding.status, finding.source, finding.security) == (
        "ACTIVE",
        f"MRA:{partner}",
        security,
    )


def test_default_partner_set_is_the_eus() -> None:
    assert {"NO", "CH", "JP", "MD", "US", "CN", "GB"} == DEFAULT_MRA_PARTNERS


def test_partner_set_is_configurable() -> None:
    pip = record("CA1", scheme="TIN", country="CA", aeo_type="PIP", mra_partner="CA")
    ctpat = record("US1", scheme="CTPAT", country="US", aeo_type="CTPAT", mra_partner="US")
    reg = registry(pip, ctpat, mra_partners={"CA"})
    assert reg.lookup(party(("TIN", "CA1")), ON).security is True
    assert reg.lookup(party(("CTPAT", "US1")), ON).security is False


def test_expired_partner_record_is_not_security() -> None:
    reg = registry(
        record("US1", aeo_type="CTPAT", mra_partner="US", country="US", valid_to=date(2025, 1, 1))
    )
    finding = reg.lookup(party(("CTPAT", "US1")), ON)
    assert (finding.status, finding.security) == ("EXPIRED", False)


# --- claims and identifiers -----------------------------------------------------------------


def test_claimed_aeo_id_without_record_is_unverified() -> None:
    reg = registry(record("DEAEOF0000000001"))
    finding = reg.lookup(party(("EORI", "DE123"), ("AEO", "DEAEOF9999999999")), ON)
    assert finding == AeoFinding(
        "DEAEOF9999999999", None, "UNVERIFIED", None, security=False, claimed=True
    )


def test_no_claim_and_no_record_is_none() -> None:
    reg = registry(record("DEAEOF0000000001"))
    finding = reg.lookup(party(("EORI", "DE123"), ("TIN", "X1")), ON)
    assert finding == AeoFinding(None, None, "NONE", None, security=False, claimed=False)
    assert reg.lookup(party(), ON).status == "NONE"


def test_a_record_is_found_by_any_scheme_and_written_loosely() -> None:
    reg = registry(record("DEAEOF0000000001"), record("DE123456789012345", scheme="EORI"))
    # an AEO number filed as an EORI, or as OTHER, in lower case with spaces
    for filed in [("EORI", "DEAEOF0000000001"), ("OTHER", "deaeof 0000 000001")]:
        finding = reg.lookup(party(filed), ON)
        assert (finding.operator_id, finding.status) == ("DEAEOF0000000001", "ACTIVE")
        assert finding.claimed is False
    assert reg.lookup(party(("TIN", "DE123456789012345")), ON).status == "ACTIVE"


def test_claim_with_another_verified_id_reports_the_record() -> None:
    reg = registry(record("DE123456789012345", scheme="EORI", aeo_type="AEOS"))
    finding = reg.lookup(party(("AEO", "DEAEOS404"), ("EORI", "DE123456789012345")), ON)
    assert (finding.status, finding.security, finding.claimed) == ("ACTIVE", True, True)


# --- several records for one party ----------------------------------------------------------

_STANDINGS = {
    "active-security": record("A1", aeo_type="AEOS"),
    "active": record("A2", aeo_type="AEOC"),
    "suspended": record("A3", status="SUSPENDED"),
    "revoked": record("A4", status="REVOKED"),
    "expired": record("A5", valid_to=date(2025, 1, 1)),
}
_ORDER = ["active-security", "active", "suspended", "revoked", "expired"]


@pytest.mark.parametrize(("a", "b"), list(itertools.permutations(_ORDER, 2)))
def test_precedence_among_several_ids(a: str, b: str) -> None:
    reg = registry(*_STANDINGS.values())
    ids = [("EORI", _STANDINGS[a].operator_id), ("TIN", _STANDINGS[b].operator_id)]
    winner = min(a, b, key=_ORDER.index)
    assert reg.lookup(party(*ids), ON).operator_id == _STANDINGS[winner].operator_id


def test_all_five_standings_give_the_active_security_one() -> None:
    reg = registry(*_STANDINGS.values())
    ids = [("OTHER", r.operator_id) for r in reversed(list(_STANDINGS.values()))]
    finding = reg.lookup(party(*ids), ON)
    assert (finding.operator_id, finding.status, finding.security) == ("A1", "ACTIVE", True)


# --- updates and output ---------------------------------------------------------------------


def test_put_replaces_and_delete_removes() -> None:
    reg = registry(record("DEAEOF1"))
    reg.put(record("deaeof1", status="REVOKED"))
    assert len(reg) == 1
    assert reg.lookup(party(("AEO", "DEAEOF1")), ON).status == "REVOKED"
    reg.delete("DEAEOF1")
    reg.delete("DEAEOF1")  # a repeated tombstone
    assert len(reg) == 0
    assert "DEAEOF1" not in reg
    assert reg.lookup(party(("AEO", "DEAEOF1")), ON).status == "UNVERIFIED"


def test_to_party_status() -> None:
    finding = AeoFinding("US1", "CTPAT", "ACTIVE", "MRA:US", security=True, claimed=False)
    assert to_party_status("consignor", finding) == PartyStatus(
        role="consignor", operator_id="US1", aeo_type="CTPAT", status="ACTIVE", source="MRA:US"
    )
