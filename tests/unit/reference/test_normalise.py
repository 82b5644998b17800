"""Name and identifier normalisation: one key for the spellings of one company."""

# Names in other scripts are what this is about: their letters look like Latin ones.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from pipeline.reference.normalise import (
    fold,
    name_forms,
    name_tokens,
    normalise_id,
    normalise_name,
)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # diacritics, and letters that NFKD leaves whole
        ("Müller Logistik GmbH", "MULLER LOGISTIK"),
        ("Société Générale d'Importation SARL", "societe generale d importation"),
        ("Ødegård Shipping A/S", "Odegard Shipping"),
        ("Công ty TNHH Đại Phát", "Dai Phat"),
        ("Łódź Trade Sp. z o.o.", "Lodz Trade"),
        ("Straße Handel GmbH", "STRASSE HANDEL"),
        # word order
        ("Logistik Müller", "Müller Logistik"),
        ("IRAN SHIPPING LINES ISLAMIC REPUBLIC OF", "Islamic Republic of Iran Shipping Lines"),
        # legal forms, written out, abbreviated or dotted
        ("ANGLO-CARIBBEAN CO., LTD.", "Anglo Caribbean"),
        ("Anglo Caribbean Company Limited", "ANGLO CARIBBEAN"),
        ("Rossi Foods S.p.A.", "Rossi Foods"),
        ("Grupo Norte, S.A. de C.V.", "grupo norte"),
        ("Grupo Norte S. de R.L. de C.V.", "grupo norte"),
        ("Hansa Elbe GmbH & Co. KG", "Hansa Elbe"),
        ("OOO Romashka", "Romashka LLC"),
        ("Sky Cargo FZE", "Sky Cargo FZCO"),
        ("PT Maju Jaya Tbk", "Maju Jaya"),
        ("Kaya Tekstil San. ve Tic. Ltd. Şti.", "Kaya Tekstil"),
        ("Công ty Cổ phần Hòa Phát", "Hoa Phat JSC"),
        ("深圳市华为技术有限公司", "深圳市华为技术"),
        # connectives and punctuation
        ("Smith & Sons Ltd", "The Smith and Sons"),
        (_fullwidth("ACME Trading"), "acme trading"),
    ],
)
def test_spellings_of_one_name_share_a_key(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hansa Elbe GmbH", "Hansa Weser GmbH"),
        ("Iran Shipping Lines", "Iran Shipping"),
        ("Global Trading", "Global Trading Asia"),
    ],
)
def test_different_names_keep_different_keys(a: str, b: str) -> None:
    assert normalise_name(a) != normalise_name(b)


def test_key_is_sorted_casefolded_words() -> None:
    assert normalise_name("Zeta  Alpha,  MIDDLE Ltd.") == "alpha middle zeta"


def test_ambiguous_forms_are_dropped_only_at_the_ends() -> None:
    # "PT" and "SIA" are legal forms in Indonesia and Latvia, and ordinary words elsewhere.
    assert name_tokens("PT Asia Logistics") == ["asia", "logistics"]
    assert name_tokens("Asia PT Logistics") == ["asia", "pt", "logistics"]
    assert name_tokens("Riga Wood SIA") == ["riga", "wood"]


def test_a_name_made_only_of_legal_forms_keeps_them() -> None:
    assert normalise_name("AB") == "ab"
    assert normalise_name("Co. Ltd.") == "co ltd"


def test_a_name_of_punctuation_only_has_an_empty_key() -> None:
    assert normalise_name(" -- / . ") == ""


def test_fold_strips_marks_and_casefolds() -> None:
    assert fold("ÀÉÎÕÜ ñ ç Ø ß") == "aeiou n c o ss"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("de-123 45", "DE12345"),
        (" DEAEOF0000123456 ", "DEAEOF0000123456"),
        ("800.191.735-7", "8001917357"),
        ("ü12", "U12"),
    ],
)
def test_identifiers_ignore_case_spaces_and_punctuation(value: str, expected: str) -> None:
    assert normalise_id(value) == expected


@pytest.mark.parametrize(
    "disguised",
    [
        "Ro\u200bsoboron\u200dexport",  # zero-width space and joiner inside words
        "\u202eRosoboronexport\u202c",  # right-to-left override around the name
        "Rosoboron\ufeffexport",  # zero-width no-break space
        "Rosoboron\u2060export",  # word joiner
    ],
)
def test_invisible_characters_do_not_change_the_key(disguised: str) -> None:
    assert normalise_name(disguised) == normalise_name("ROSOBORONEXPORT")
    assert normalise_id(f"RU{disguised[:3]}-77") == normalise_id(f"RU{disguised[:3]}77")


# --- other scripts, and legal forms in many languages (rigour) ------------------------------


@pytest.mark.parametrize(
    ("filed", "key"),
    [
        ("ООО «Ромашка»", "romashka"),
        ("ЖУКОВСКИЙ ЗАВОД", "zavod zhukovsky"),  # Й is not И
        ("Ёлка", "yolka"),
        ("Ελληνικά Πετρέλαια", "ellinika petrelaia"),
        ("中兴通讯股份有限公司", "zhongxingtongxun"),  # one Chinese word stays one word
        ("شركة النور", "alnwr shrkt"),
        ("Ромашка Trading", "romashka trading"),
    ],
)
def test_other_scripts_are_transliterated_to_latin(filed: str, key: str) -> None:
    assert normalise_name(filed) == key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Siemens Aktiengesellschaft", "Siemens AG"),
        ("Volvo Aktiebolag", "Volvo AB"),
        ("Romashka Limited Liability Company", "Romashka"),
        ("Obshchestvo s ogranichennoi otvetstvennostyu Romashka", "Romashka"),
        ("Общество с ограниченной ответственностью «Ромашка»", "Romashka"),
        ("Gazprom Public Joint Stock Company", "ПАО Газпром"),
        ("Acme Sociedad Anónima", "ACME S.A."),
        ("Acme Société Anonyme", "Acme SA"),
        ("Kaya Tekstil Anonim Şirketi", "Kaya Tekstil A.Ş."),
        ("Πετρέλαια Ανώνυμη Εταιρεία", "Petrelaia"),
        ("Нафтогаз Публічне акціонерне товариство", "Naftogaz"),
        ("Nowak Spółka z ograniczoną odpowiedzialnością", "Nowak Sp. z o.o."),
        ("Acme Besloten Vennootschap", "Acme B.V."),
    ],
)
def test_legal_forms_of_many_languages_are_dropped(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b)


@pytest.mark.parametrize(
    ("listed", "other"),
    [
        # Real SDN names: "IS", "SAD" and "STG" are short forms in rigour's database too.
        ("IS BANK, AO", "BANK"),
        ("SAD IMPORT EXPORT COMPANY", "IMPORT EXPORT"),
        ("STG HOLDING LIMITED", "HOLDING"),
    ],
)
def test_short_library_forms_that_are_also_words_are_kept(listed: str, other: str) -> None:
    assert normalise_name(listed) != normalise_name(other)


@pytest.mark.parametrize("name", ["", "ꦧꦱ", "ᚠᚢᚦ", "\ud800", "😀"])
def test_a_script_without_transliteration_gives_an_empty_key(name: str) -> None:
    assert normalise_name(name) == ""


def test_the_written_form_keeps_every_word_in_order() -> None:
    forms = name_forms("Rossi Foods S.p.A. (Milano)")
    assert forms == ("foods milano rossi", "rossifoodsmilano", "rossi foods spa milano")
