"""The enrichment stage: each declaration with what reference data says of it, as typed
facts, asked of the reference data only where a declaration has something to look up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from pipeline.contract.models import Declaration, Party, PartyRole, PartyStatus
from pipeline.screening.enrich import Enricher, PartyFacts
from tests.unit.screening.test_batch import declaration

SECURITY_AEO = PartyFacts("ACTIVE", "AEOF", aeo_security=True)


def decoded(**extra: Any) -> Declaration:
    return msgspec.convert(declaration(**extra), Declaration)


class Reference:
    """Reference data that records what it is asked."""

    def __init__(self, facts: Mapping[PartyRole, PartyFacts] | None = None) -> None:
        self.facts = facts or {}
        self.asked: list[str] = []

    def lookup(
        self, declaration: Declaration, role: PartyRole, party: Party
    ) -> tuple[PartyFacts, PartyStatus]:
        self.asked.append(f"party {role}")
        facts = self.facts.get(role, PartyFacts())
        return facts, PartyStatus(role, None, facts.aeo_type, facts.aeo_status, None)

    def vessel(self, declaration: Declaration) -> Mapping[str, Any]:
        self.asked.append("vessel")
        return {"watchlist_action": "DNL"}

    def consolidation(self, declaration: Declaration) -> Mapping[str, Any]:
        self.asked.append("master")
        return {"master_house_count": 2}

    def partner_finding(self, declaration: Declaration) -> Mapping[str, Any]:
        self.asked.append("partner")
        return {"partner_finding_level": "HIGH"}


def test_parties_come_in_role_order_with_their_facts_and_status() -> None:
    reference = Reference({"consignee": PartyFacts("ACTIVE", "AEOC")})
    carrier = {"carrier": {"name": "Ocean Lines"}, "mode": "SEA"}
    [enriched] = Enricher(reference).enrich([decoded(transport=carrier)])
    roles = [p.role for p in enriched.parties]
    assert roles == ["declarant", "consignor", "consignee", "carrier"]
    consignee = enriched.parties[2]
    assert consignee.party.name == "Berlin Retail AG"
    assert consignee.facts == PartyFacts("ACTIVE", "AEOC")
    assert [s.status for s in enriched.statuses] == ["NONE", "NONE", "ACTIVE", "NONE"]


def test_vessel_and_master_are_looked_up_only_for_a_filing_that_names_them() -> None:
    reference = Reference()
    plain, named = Enricher(reference).enrich(
        [
            decoded(),
            decoded(
                declaration_id="D2",
                transport={"mode": "SEA", "vessel": {"imo": "9074729"}},
                transport_document={"type": "HBL", "number": "H1", "master_number": "M1"},
            ),
        ]
    )
    assert reference.asked.count("vessel") == reference.asked.count("master") == 1
    assert (plain.vessel, plain.master) == ({}, {})
    assert named.vessel == {"watchlist_action": "DNL"}
    assert named.master == {"master_house_count": 2}


def test_partner_findings_are_looked_up_only_when_asked_for() -> None:
    reference = Reference()
    [without] = Enricher(reference).enrich([decoded()], partner_findings=False)
    assert "partner" not in reference.asked
    assert without.partner_finding == {}
    [found] = Enricher(reference).enrich([decoded()])
    assert found.partner_finding == {"partner_finding_level": "HIGH"}


def test_aeo_relief_is_for_a_security_aeo_consignor_or_consignee_only() -> None:
    def relief(role: PartyRole) -> bool:
        [enriched] = Enricher(Reference({role: SECURITY_AEO})).enrich([decoded()])
        return enriched.aeo_relief

    assert relief("consignor")
    assert relief("consignee")
    assert not relief("declarant")
    [customs_only] = Enricher(Reference({"consignor": PartyFacts("ACTIVE", "AEOC")})).enrich(
        [decoded()]
    )
    assert not customs_only.aeo_relief


def test_without_reference_data_a_claimed_aeo_is_unverified_and_nothing_matches() -> None:
    claimed = decoded(consignor={"name": "X", "ids": [{"scheme": "AEO", "value": "NLAEO1"}]})
    [enriched] = Enricher().enrich([claimed])
    consignor = enriched.parties[1]
    assert consignor.facts == PartyFacts("UNVERIFIED")
    assert consignor.status == PartyStatus("consignor", "NLAEO1", None, "UNVERIFIED", None)
    assert (enriched.vessel, enriched.master, enriched.partner_finding) == ({}, {}, {})


def test_facts_stated_by_name_keep_only_party_facts() -> None:
    stated = PartyFacts.stated({"aeo_status": "ACTIVE", "watchlist_action": "RFI", "typo": 1})
    assert stated == PartyFacts("ACTIVE", watchlist_action="RFI")
