"""Watch-list screening: identifiers, names, aliases and fuzzy names, through the indexes."""

from __future__ import annotations

import random
from typing import Any

import pytest
from rapidfuzz import fuzz, process

from pipeline.contract.models import Party, PartyId, WatchlistEntry
from pipeline.reference import watchlist as watchlist_module
from pipeline.reference.normalise import normalise_name
from pipeline.reference.watchlist import Watchlist, WatchlistFinding


def entry(
    entry_id: str,
    name: str,
    *,
    aliases: tuple[str, ...] = (),
    ids: tuple[tuple[str, str], ...] = (),
    action: str = "HRCM",
    list_name: str = "OFAC",
) -> WatchlistEntry:
    return WatchlistEntry(
        entry_id=entry_id,
        name=name,
        aliases=list(aliases),
        ids=[PartyId(scheme, value) for scheme, value in ids],  # type: ignore[arg-type]
        list=list_name,
        action=action,  # type: ignore[arg-type]
        reason=f"listed {entry_id}",
    )


def party(name: str, *ids: tuple[str, str]) -> Party:
    return Party(name=name, ids=[PartyId(scheme, value) for scheme, value in ids])  # type: ignore[arg-type]


def listed(*entries: WatchlistEntry, **options: Any) -> Watchlist:
    wl = Watchlist(**options)
    for e in entries:
        wl.put(e)
    return wl


IRISL = entry(
    "OFAC-1",
    "ISLAMIC REPUBLIC OF IRAN SHIPPING LINES",
    aliases=("IRISL", "IRAN SHIPPING LINES"),
    ids=(("OTHER", "IMO 9051648"), ("TIN", "IR-12345")),
    action="DNL",
)


# --- identifiers ----------------------------------------------------------------------------


def test_identifier_matches_scheme_and_value_ignoring_case_and_punctuation() -> None:
    wl = listed(IRISL)
    [finding] = wl.match(party("Unrelated Name Ltd", ("TIN", "ir 12345")))
    assert finding == WatchlistFinding(
        entry_id="OFAC-1",
        list="OFAC",
        action="DNL",
        reason="listed OFAC-1",
        how="ID",
        score=100.0,
        matched="TIN:IR-12345",
    )


def test_identifier_under_another_scheme_does_not_match() -> None:
    wl = listed(IRISL)
    assert wl.match(party("Unrelated Name Ltd", ("EORI", "IR12345"))) == []


def test_scheme_other_matches_by_value_alone_on_either_side() -> None:
    wl = listed(IRISL)
    # the party says OTHER: any listed scheme with that value
    assert [f.how for f in wl.match(party("X Ltd", ("OTHER", "IR12345")))] == ["ID"]
    # the list says OTHER: any scheme the party files
    assert [f.matched for f in wl.match(party("X Ltd", ("EORI", "imo9051648")))] == [
        "OTHER:IMO 9051648"
    ]


# --- names and aliases ----------------------------------------------------------------------


def test_name_matches_after_normalisation_as_name() -> None:
    wl = listed(IRISL)
    [finding] = wl.match(party("Iran Shipping Lines, Islamic Republic of"))
    assert (finding.how, finding.score, finding.matched) == (
        "NAME",
        100.0,
        "ISLAMIC REPUBLIC OF IRAN SHIPPING LINES",
    )


def test_alias_matches_as_alias_with_the_alias_as_written() -> None:
    wl = listed(IRISL)
    [finding] = wl.match(party("Irisl Co., Ltd."))
    assert (finding.how, finding.score, finding.matched) == ("ALIAS", 100.0, "IRISL")


def test_misspelt_name_matches_fuzzily_with_token_sort_score() -> None:
    wl = listed(IRISL)
    name = "Islamic Republic of Iran Shippng Lines"
    [finding] = wl.match(party(name))
    assert finding.how == "FUZZY"
    assert finding.matched == "ISLAMIC REPUBLIC OF IRAN SHIPPING LINES"
    expected = fuzz.token_sort_ratio(normalise_name(name), normalise_name(IRISL.name))
    assert 92 <= finding.score < 100
    assert finding.score == pytest.approx(expected, abs=0.05)


def test_misspelt_one_word_name_is_found_through_its_affix_keys() -> None:
    wl = listed(entry("E1", "ROSOBORONEXPORT OAO"))
    [finding] = wl.match(party("Rosoboronexprot"))
    assert finding.how == "FUZZY"


def test_short_listed_name_inside_a_longer_one_is_not_a_match() -> None:
    # WRatio would score this near 100; token_sort_ratio does not.
    wl = listed(entry("E1", "IRAN"))
    assert wl.match(party("Iran Shipping Lines International")) == []


def test_threshold_is_inclusive_and_configurable() -> None:
    listed_name, filed = "HANSA ELBE LOGISTICS", "Hansa Elbe Logistic"
    score = fuzz.token_sort_ratio(normalise_name(listed_name), normalise_name(filed))
    assert 80 < score < 100
    e = entry("E1", listed_name)
    assert [f.how for f in listed(e, fuzzy_threshold=score).match(party(filed))] == ["FUZZY"]
    assert listed(e, fuzzy_threshold=score + 0.1).match(party(filed)) == []


def test_default_threshold_is_92() -> None:
    # One letter off in a 9-letter name scores 88.9: below the default threshold.
    wl = listed(entry("E1", "ABCDEFGHI"))
    assert wl.match(party("ABCDEFGHX")) == []
    assert wl.fuzzy_threshold == 92


def test_threshold_outside_0_100_is_refused() -> None:
    with pytest.raises(ValueError, match="fuzzy_threshold"):
        Watchlist(fuzzy_threshold=0)
    with pytest.raises(ValueError, match="fuzzy_threshold"):
        Watchlist(fuzzy_threshold=101)


def test_a_name_without_letters_matches_nothing() -> None:
    wl = listed(entry("E1", "---"), IRISL)
    assert wl.match(party("---")) == []


# --- results --------------------------------------------------------------------------------


def test_one_finding_per_entry_with_the_strongest_evidence() -> None:
    wl = listed(IRISL)
    findings = wl.match(party("IRISL", ("TIN", "IR12345")))
    assert [(f.entry_id, f.how) for f in findings] == [("OFAC-1", "ID")]


def test_name_beats_alias_and_exact_beats_fuzzy_for_one_entry() -> None:
    wl = listed(entry("E1", "Nordic Fish Export", aliases=("Nordic Fish Export AS",)))
    assert [f.how for f in wl.match(party("Nordic Fish Export"))] == ["NAME"]


def test_findings_are_sorted_by_severity_then_score() -> None:
    wl = listed(
        entry("RFI-1", "Hansa Elbe Logistics", action="RFI"),
        entry("HRCM-fuzzy", "Hansa Elbe Logistiks", action="HRCM"),
        entry("HRCM-exact", "Hansa Elbe Logistics GmbH", action="HRCM"),
        entry("DNL-fuzzy", "Hansa Elbe Logisticss", action="DNL"),
    )
    findings = wl.match(party("Hansa Elbe Logistics"))
    assert [f.entry_id for f in findings] == ["DNL-fuzzy", "HRCM-exact", "HRCM-fuzzy", "RFI-1"]
    assert [f.how for f in findings] == ["FUZZY", "NAME", "FUZZY", "NAME"]


def test_entries_that_share_a_name_are_all_reported() -> None:
    wl = listed(entry("A", "Polar Star Trading"), entry("B", "POLAR STAR TRADING LLC"))
    assert sorted(f.entry_id for f in wl.match(party("Polar Star Trading"))) == ["A", "B"]


# --- updates --------------------------------------------------------------------------------


def test_delete_removes_every_index_entry() -> None:
    wl = listed(IRISL, entry("E2", "Polar Star Trading"))
    wl.delete("OFAC-1")
    assert len(wl) == 1
    assert "OFAC-1" not in wl
    assert wl.match(party("IRISL")) == []
    assert wl.match(party("Islamic Republic of Iran Shipping Lines")) == []
    assert wl.match(party("Islamic Republic of Iran Shippng Lines")) == []
    assert wl.match(party("X", ("TIN", "IR12345"))) == []
    assert wl._postings == listed(entry("E2", "Polar Star Trading"))._postings


def test_delete_of_one_entry_keeps_another_with_the_same_name() -> None:
    wl = listed(entry("A", "Polar Star Trading"), entry("B", "Polar Star Trading"))
    wl.delete("A")
    assert [f.entry_id for f in wl.match(party("Polar Star Tradng"))] == ["B"]
    assert [f.entry_id for f in wl.match(party("Polar Star Trading"))] == ["B"]


def test_delete_of_an_entry_whose_alias_repeats_its_name() -> None:
    wl = listed(entry("A", "Polar Star Trading", aliases=("POLAR STAR TRADING LTD",)))
    wl.delete("A")
    assert len(wl) == 0
    assert wl._exact == {}
    assert wl._postings == {}


def test_delete_of_an_unknown_entry_is_ignored() -> None:
    wl = listed(IRISL)
    wl.delete("nope")
    assert len(wl) == 1


def test_put_replaces_an_entry_with_the_same_id() -> None:
    wl = listed(IRISL)
    wl.put(entry("OFAC-1", "Polar Star Trading", action="RFI"))
    assert len(wl) == 1
    assert wl.match(party("IRISL")) == []
    assert [f.action for f in wl.match(party("Polar Star Trading"))] == ["RFI"]


# --- the index ------------------------------------------------------------------------------

_SYLLABLES = ("ka", "ri", "to", "me", "la", "no", "su", "vi", "de", "ra", "po", "lu", "ne")
_SYLLABLES += ("shi", "ta", "mo", "ga", "be", "zu", "fi", "ko", "ya")
_TRADES = ("Trading", "Shipping", "Logistics", "Industrial", "Marine", "Petroleum", "Energy")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).title()


def _company(rng: random.Random) -> str:
    return f"{_word(rng)} {_word(rng)} {rng.choice(_TRADES)} {rng.choice(_TRADES)} Co., Ltd."


class _CountingProcess:
    """Stands in for rapidfuzz.process in the module and counts the names compared."""

    def __init__(self) -> None:
        self.compared = 0

    def extract(self, query: str, choices: list[str], **kwargs: Any) -> Any:
        self.compared += len(choices)
        return process.extract(query, choices, **kwargs)


def test_a_lookup_compares_few_names_whatever_the_list_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(1)
    names = sorted({_company(rng) for _ in range(20_000)})
    wl = listed(*(entry(f"E{i}", n) for i, n in enumerate(names)))
    counter = _CountingProcess()
    monkeypatch.setattr(watchlist_module, "process", counter)
    compared = []
    for _ in range(200):
        before = counter.compared
        wl.match(party(f"Zzyzx{rng.randint(0, 999)} Trading Shipping Co"))
        compared.append(counter.compared - before)
    assert max(compared) <= wl.max_candidates
    assert sum(compared) / len(compared) < len(names) / 20
    # A listed name with one word misspelt is still found among them.
    for index in (0, 5_000, 12_345):
        target = names[index]
        misspelt = target[:3] + target[4:]
        assert f"E{index}" in {f.entry_id for f in wl.match(party(misspelt))}


def test_names_made_only_of_common_words_stop_at_the_candidate_cap() -> None:
    rng = random.Random(2)
    # 300 names of the target's length whose keys are "global", "trading", "<glob", ">ding".
    common = [
        entry(f"E{i}", f"Global h{''.join(rng.choices('abcdefghijklmnopqrs', k=7))} Trading")
        for i in range(300)
    ]
    target = entry("T", "Global Servicez Trading")
    wl = listed(*common, target, max_candidates=100)
    # Exact matches never depend on the cap.
    assert [f.entry_id for f in wl.match(party("Global Trading Servicez"))] == ["T"]
    # "servicex" is in no name: every other key of the filed name is shared by more names than
    # the cap, so no name is compared.
    assert wl.match(party("Global Trading Servicex")) == []
    uncapped = listed(*common, target, max_candidates=10_000)
    assert "T" in {f.entry_id for f in uncapped.match(party("Global Trading Servicex"))}
