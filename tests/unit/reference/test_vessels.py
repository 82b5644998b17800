"""Vessels (contract v1.1): IMO numbers normalised and checked, and looked up in the watch list."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from pipeline.contract.models import Declaration, Party, PartyId, WatchlistEntry, WatchlistId
from pipeline.reference.aeo import AeoRegistry
from pipeline.reference.csv_load import Row, read_watchlist_csv
from pipeline.reference.parties import ReferenceData
from pipeline.reference.vessels import imo_check_digit_valid, normalise_imo
from pipeline.reference.watchlist import Watchlist
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from tests.factories import bare_declaration

SAMPLE_WATCHLIST = Path(__file__).resolve().parents[3] / "deploy" / "sample-data" / "watchlist.csv"


@pytest.mark.parametrize(
    ("filed", "digits"),
    [
        ("IMO 9187629", "9187629"),
        ("9187629", "9187629"),
        ("imo9187629", "9187629"),
        ("IMO: 918 7629", "9187629"),
        (" IMO-9187629 ", "9187629"),
        ("918762", None),
        ("91876290", None),
        ("IMO 918762X", None),
        ("IMOX9187629", None),
        ("", None),
        (None, None),
    ],
)
def test_imo_numbers_are_normalised_to_their_seven_digits(
    filed: str | None, digits: str | None
) -> None:
    assert normalise_imo(filed) == digits


@pytest.mark.parametrize(
    ("filed", "valid"),
    [
        # 9·7 + 1·6 + 8·5 + 7·4 + 6·3 + 2·2 = 159: check digit 9.
        ("IMO 9187629", True),
        ("9074729", True),
        ("IMO 9074729", True),
        ("9187628", False),
        ("9074720", False),
        ("907472", False),
        ("IMO 90747290", False),
        ("not a number", False),
        (None, False),
    ],
)
def test_the_check_digit_is_the_weighted_sum_modulo_ten(filed: str | None, valid: bool) -> None:
    assert imo_check_digit_valid(filed) is valid


def vessel_entry(entry_id: str, imo: str, action: str = "DNL") -> WatchlistEntry:
    return WatchlistEntry(
        entry_id=entry_id,
        name="ARTAVIL",
        ids=[WatchlistId("IMO", imo)],
        list="OFAC",
        action=action,  # type: ignore[arg-type]
        reason="vessel",
    )


def test_a_listed_imo_number_matches_however_it_is_written() -> None:
    watchlist = Watchlist()
    watchlist.put(vessel_entry("V-1", "IMO 9187629"))
    for filed in ("9187629", "IMO 9187629", "imo9187629"):
        [finding] = watchlist.match_vessel(filed)
        assert (finding.entry_id, finding.action, finding.how) == ("V-1", "DNL", "ID")
        assert finding.matched == "IMO:IMO 9187629"
    assert watchlist.match_vessel("9074729") == []
    assert watchlist.match_vessel("918762") == []
    assert watchlist.match_vessel(None) == []


def test_the_most_severe_entry_comes_first_and_a_deleted_one_is_gone() -> None:
    watchlist = Watchlist()
    watchlist.put(vessel_entry("V-RFI", "9187629", "RFI"))
    watchlist.put(vessel_entry("V-DNL", "9187629", "DNL"))
    assert [f.entry_id for f in watchlist.match_vessel("9187629")] == ["V-DNL", "V-RFI"]
    watchlist.delete("V-DNL")
    assert [f.entry_id for f in watchlist.match_vessel("9187629")] == ["V-RFI"]
    watchlist.put(vessel_entry("V-RFI", "9074729", "RFI"))  # replaced: another number
    assert watchlist.match_vessel("9187629") == []
    assert [f.entry_id for f in watchlist.match_vessel("9074729")] == ["V-RFI"]


def test_an_imo_id_does_not_match_a_party_and_a_party_id_does_not_match_a_vessel() -> None:
    watchlist = Watchlist()
    watchlist.put(vessel_entry("V-1", "9187629"))
    watchlist.put(
        WatchlistEntry(entry_id="P-1", name="SOME OWNER", ids=[WatchlistId("TIN", "9074729")])
    )
    assert watchlist.match(Party(name="Nobody Ltd", ids=[PartyId("TIN", "9187629")])) == []
    assert watchlist.match_vessel("9074729") == []


def declaration(vessel: dict[str, object] | None, mode: str = "SEA") -> Declaration:
    transport = {"mode": mode, "conveyance_ref": "ARTAVIL 12E", "vessel": vessel}
    return bare_declaration("D-V1", transport=transport)


def reference_with(*entries: WatchlistEntry) -> ReferenceData:
    data = ReferenceData(AeoRegistry(), Watchlist())
    for entry in entries:
        data.apply_watchlist(entry.entry_id.encode(), msgspec.json.encode(entry))
    return data


def test_reference_data_gives_the_vessels_worst_finding_and_forgets_a_tombstoned_one() -> None:
    data = reference_with(vessel_entry("V-1", "IMO 9187629", "HRCM"))
    filed = declaration({"name": "ARTAVIL", "imo": "9187629", "flag": "IR"})
    assert data.vessel(filed) == {
        "watchlist_action": "HRCM",
        "watchlist_list": "OFAC",
        "watchlist_entry": "V-1",
    }
    assert data.vessel(declaration({"name": "ARTAVIL"})) == {}
    assert data.vessel(declaration(None)) == {}
    data.apply_watchlist(b"V-1", None)
    assert data.vessel(filed) == {}


def fired(rules: CompiledRuleSet, data: ReferenceData, filed: Declaration) -> dict[str, str]:
    evaluator = RuleEvaluator(rules, data)
    [evaluation] = evaluator.evaluate_declarations([filed])
    return {m.rule_id: m.reason for m in evaluation.matches}


@pytest.mark.parametrize("action", ["DNL", "HRCM", "RFI"])
def test_the_default_rules_give_a_listed_vessel_its_entrys_action(
    action: str, default_rules: CompiledRuleSet
) -> None:
    data = reference_with(vessel_entry("OFAC-15036", "IMO 9187629", action))
    found = fired(
        default_rules, data, declaration({"name": "ARTAVIL", "imo": "IMO 9187629", "flag": "PA"})
    )
    reason = found[f"WL-VESSEL-{action}"]
    assert "ARTAVIL" in reason
    assert "OFAC-15036" in reason
    assert "VESSEL-IMO-CHECK-DIGIT" not in found


def test_a_wrong_check_digit_is_a_request_for_information_and_no_imo_is_no_finding(
    default_rules: CompiledRuleSet,
) -> None:
    data = reference_with()
    found = fired(
        default_rules, data, declaration({"name": "MSC ANNA", "imo": "IMO 9074728", "flag": "PA"})
    )
    assert "IMO 9074728" in found["VESSEL-IMO-CHECK-DIGIT"]
    assert "ask the carrier" in found["VESSEL-IMO-CHECK-DIGIT"]
    for vessel in ({"name": "MSC ANNA", "flag": "PA"}, None):
        found = fired(default_rules, data, declaration(vessel))
        assert not {r for r in found if r.startswith(("WL-VESSEL", "VESSEL-"))}


def test_a_high_risk_flag_raises_the_score(default_rules: CompiledRuleSet) -> None:
    found = fired(default_rules, reference_with(), declaration({"name": "SONG JONG", "flag": "KP"}))
    assert "KP" in found["VESSEL-FLAG-HIGH-RISK"]


def test_the_sample_watch_list_lists_the_ofac_vessels_by_imo_number() -> None:
    rows = list(read_watchlist_csv(SAMPLE_WATCHLIST))
    assert all(isinstance(r, Row) for r in rows)
    entries = [r.record for r in rows if isinstance(r, Row)]
    watchlist = Watchlist()
    for entry in entries:
        watchlist.put(entry)
    vessels = [e for e in entries if any(i.scheme == "IMO" for i in e.ids)]
    assert len(vessels) > 200
    assert all(imo_check_digit_valid(i.value) for v in vessels for i in v.ids if i.scheme == "IMO")
    [artavil] = watchlist.match_vessel("9187629")
    assert artavil.entry_id == "OFAC-15036"
