"""Watch-list names as filers write them: cut at 35 characters, or in another script."""

# Names in other scripts are what this is about: their letters look like Latin ones.
# ruff: noqa: RUF001

from __future__ import annotations

import msgspec
import pytest

from pipeline.contract.models import Declaration, Party, WatchlistEntry
from pipeline.reference.normalise import name_forms
from pipeline.reference.parties import ReferenceData
from pipeline.reference.watchlist import TRUNCATED_MIN_LENGTH, TRUNCATED_SCORE, Watchlist
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from tests.factories import bare_declaration

# A real SDN entity name (ent_num 11643), 58 characters as listed.
LONG = "INDUSTRIAL DEVELOPMENT AND RENOVATION ORGANIZATION OF IRAN"


def entry(
    entry_id: str, name: str, *aliases: str, action: str = "DNL", list_name: str = "OFAC"
) -> WatchlistEntry:
    return WatchlistEntry(
        entry_id=entry_id,
        name=name,
        aliases=list(aliases),
        list=list_name,
        action=action,  # type: ignore[arg-type]
        reason=f"listed {entry_id}",
    )


def listed(*entries: WatchlistEntry) -> Watchlist:
    wl = Watchlist()
    for e in entries:
        wl.put(e)
    return wl


def found(wl: Watchlist, name: str) -> list[tuple[str, str, float]]:
    return [(f.entry_id, f.how, f.score) for f in wl.match(Party(name=name))]


# --- truncated names ------------------------------------------------------------------------


def test_a_name_cut_at_35_characters_matches_as_truncated() -> None:
    wl = listed(entry("SDN-16411", LONG))
    [finding] = wl.match(Party(name=LONG[:35]))
    assert (finding.how, finding.score, finding.matched) == ("TRUNCATED", TRUNCATED_SCORE, LONG)
    assert TRUNCATED_SCORE < 100


def test_the_cut_counts_on_the_written_form_and_30_characters_are_needed() -> None:
    written = name_forms(LONG).written
    assert written.startswith("industrial development and ren")
    at_30, at_29 = written[:30], written[:29]
    assert len(name_forms(at_30.upper()).written) == TRUNCATED_MIN_LENGTH == 30
    assert len(name_forms(at_29.upper()).written) == 29
    wl = listed(entry("E1", LONG))
    assert found(wl, at_30.upper()) == [("E1", "TRUNCATED", TRUNCATED_SCORE)]
    assert found(wl, at_29.upper()) == []


def test_punctuation_does_not_count_towards_the_length() -> None:
    # 31 characters as filed, 29 once the punctuation is one space.
    filed = "Industrial-Development,  and Re"
    assert len(filed) == 31
    wl = listed(entry("E1", LONG))
    assert found(wl, filed) == []
    assert found(wl, filed + "n") == [("E1", "TRUNCATED", TRUNCATED_SCORE)]


def test_word_order_matters_for_a_cut_name() -> None:
    wl = listed(entry("E1", LONG))
    reordered = "RENOVATION ORGANIZATION OF IRAN INDUSTRIAL DEVELOPMENT AND"
    assert found(wl, reordered[:35]) == []
    # The whole name in another order is still the name.
    assert found(wl, reordered) == [("E1", "NAME", 100.0)]


def test_a_cut_alias_matches_with_the_alias_as_written() -> None:
    alias = "IRANIAN INDUSTRIAL DEVELOPMENT AND RENOVATION ORGANIZATION"
    wl = listed(entry("E1", "IDRO", alias))
    [finding] = wl.match(Party(name=alias[:35]))
    assert (finding.how, finding.matched) == ("TRUNCATED", alias)


def test_an_exact_name_is_reported_before_the_start_of_a_longer_one() -> None:
    name = LONG[:40]
    wl = listed(entry("E1", name, LONG), entry("E2", LONG + " OF CRIMEA", action="HRCM"))
    # E1's own name beats its alias's start; E2 is only truncated.
    assert found(wl, name) == [("E1", "NAME", 100.0), ("E2", "TRUNCATED", TRUNCATED_SCORE)]


def test_a_name_longer_than_the_listed_one_is_not_truncated() -> None:
    # The list holds the start of the filed name: that is not a cut of the listed name.
    wl = listed(entry("E1", LONG[:40]))
    assert [how for _, how, _ in found(wl, LONG)] in ([], ["FUZZY"])


def test_delete_removes_the_truncation_and_compact_index_entries() -> None:
    wl = listed(entry("E1", LONG, "ZHONGXING TONGXUN"), entry("E2", LONG + " 2"))
    wl.delete("E1")
    assert found(wl, LONG[:35]) == [("E2", "TRUNCATED", TRUNCATED_SCORE)]
    assert found(wl, "中兴通讯") == []
    wl.delete("E2")
    assert found(wl, LONG[:35]) == []
    assert (wl._prefixes, wl._compact, wl._exact, wl._postings) == ({}, {}, {}, {})


def test_replacing_an_entry_replaces_its_truncation_entries() -> None:
    wl = listed(entry("E1", LONG))
    wl.put(entry("E1", "POLAR STAR TRADING AND SHIPPING COMPANY OF LIMASSOL"))
    assert found(wl, LONG[:35]) == []
    assert found(wl, "POLAR STAR TRADING AND SHIPPING COM") == [
        ("E1", "TRUNCATED", TRUNCATED_SCORE)
    ]


# --- other scripts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listing", "filed"),
    [
        # Cyrillic, with the legal form in Russian, written out or abbreviated
        ("ROMASHKA LLC", "ООО «Ромашка»"),
        ("ZHUKOVSKY ZAVOD", "Общество с ограниченной ответственностью «Жуковский завод»"),
        ("GAZPROM PJSC", "ПАО Газпром"),
        # Greek, with the legal form written out
        ("ELLINIKA PETRELAIA", "Ελληνικά Πετρέλαια Ανώνυμη Εταιρεία"),
        # Chinese: pinyin written as words in the list, characters run together when filed
        ("ZHONGXING TONGXUN", "中兴通讯股份有限公司"),
        ("ZHONGXING TONGXUN", "中興通訊股份有限公司"),
    ],
)
def test_a_name_in_another_script_matches_its_latin_listing(listing: str, filed: str) -> None:
    wl = listed(entry("E1", listing))
    assert found(wl, filed) == [("E1", "NAME", 100.0)]


def test_an_arabic_name_matches_with_or_without_its_vowel_marks() -> None:
    wl = listed(entry("E1", "AL NOOR TRADING", "شركة النور"))
    assert found(wl, "شَرِكَة النُّور") == [("E1", "ALIAS", 100.0)]
    assert name_forms("شركة النور").key.isascii()


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        "ꦧꦱ",  # Javanese: no transliteration
        "ᚠᚢᚦ",  # runes
        "𓀀𓀁",  # Egyptian hieroglyphs
        "\ud800",  # a lone surrogate, as a JSON escape can give
        "😀😀",
    ],
)
def test_an_unknown_script_or_empty_name_matches_nothing_and_does_not_fail(name: str) -> None:
    wl = listed(entry("E1", "ROMASHKA"), entry("E2", name or "X"))
    assert name_forms(name).key == ""
    assert [f for f in wl.match(Party(name=name)) if f.entry_id == "E1"] == []


def test_a_listed_name_in_an_unknown_script_is_not_indexed() -> None:
    wl = listed(entry("E1", "ꦧꦱ"))
    assert len(wl) == 1
    assert wl._exact == {}
    assert found(wl, "ꦧꦱ") == []


# --- the facts the rules read ---------------------------------------------------------------


def filing(consignee: str) -> Declaration:
    return bare_declaration("D-T1", consignee={"name": consignee})


@pytest.mark.parametrize("action", ["DNL", "HRCM", "RFI"])
def test_a_truncated_match_is_a_fact_and_the_watch_list_rules_fire(
    action: str, default_rules: CompiledRuleSet, empty_reference: ReferenceData
) -> None:
    data = empty_reference
    listing = entry("SDN-11643", LONG, action=action)
    data.apply_watchlist(b"SDN-11643", msgspec.json.encode(listing))
    declaration = filing(LONG[:35])
    facts, _ = data.lookup(declaration, "consignee", declaration.consignee)  # type: ignore[arg-type]
    assert facts.watchlist_match == "TRUNCATED"
    assert facts.watchlist_score == TRUNCATED_SCORE
    assert facts.watchlist_action == action
    [evaluation] = RuleEvaluator(default_rules, data).evaluate_declarations([declaration])
    reasons = {m.rule_id: m.reason for m in evaluation.matches}
    assert "by TRUNCATED, score 90" in reasons[f"WL-{action}"]
