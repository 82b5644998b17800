"""Party names and identifiers reduced to a comparable form.

Two spellings of one company should give one key: "Müller Logistik GmbH", "MULLER LOGISTIK
G.m.b.H." and "Logistik Müller" all become ``logistik muller``; "OOO Romashka" written in
Cyrillic and "Romashka LLC" both become ``romashka``. The steps:
Unicode NFKD with diacritics stripped (plus the few letters NFKD does not decompose), casefold,
words in other scripts transliterated to Latin (rigour: Cyrillic, Greek, Arabic, Chinese and the
other scripts ICU knows), dotted abbreviations joined ("S.A." is ``sa``), punctuation to spaces,
legal forms (rigour's org-type database for the written-out forms of many languages, the tables
below for short forms) and connective words ("and", "the") dropped, tokens sorted so that word
order does not matter. A script that cannot be transliterated gives no words, so its name
matches nothing.

Every party of every declaration is normalised, so the ASCII path skips transliteration and the
results are cached: the same companies file again and again.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from rigour.names.org_types import extract_org_types
from rigour.text.translit import ascii_text

from pipeline.text import without_format_characters

# Letters that NFKD leaves whole but that filers and list compilers write without the mark.
_FOLD = str.maketrans(
    {
        "đ": "d",
        "ð": "d",
        "ø": "o",
        "ł": "l",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "\u0131": "i",  # dotless i
    }
)

_ABBREVIATION = re.compile(r"\b(?:\w\.)+\w\b\.?")
_NON_WORD = re.compile(r"[\W_]+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
# Names (and words) are cached by their text: a list's names at start, then the parties that
# file most: a few tens of MB at most. The party lookups of parties.py are remembered apart.
_CACHE_SIZE = 65_536


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Legal forms carry no identity: "ACME LTD" and "ACME LIMITED" are one company. rigour's org-type
# database (ISO 20275 and more) knows the forms of many languages, written out ("Aktiebolag",
# "obshchestvo s ogranichennoi otvetstvennostyu" in Cyrillic or Latin, "joint stock company").
# Its short one-word forms are often ordinary words too ("IS", "SAD", "STG": "IS BANK AO" would
# become "BANK"), so a one-word form of up to _SHORT_FORM letters is dropped only when this table
# names it (wherever it stands) or EDGE_FORMS do (at an edge). TNHH, CTY and CTCP are
# Vietnamese (limited liability, company, joint stock company).
_SHORT_FORM = 4
LEGAL_FORMS = _words(
    """
    ltd limited llc gmbh co company corp corporation inc incorporated sa srl sarl bv nv ag plc
    llp jsc ooo zao oao pao pjsc fze fzco fzc pte pvt spa kg oy ab as sas cv
    tnhh cty ctcp
    pty bhd berhad sdn ltda lda sac sae slu wll asa oyj aps dac kft zrt sro doo eood ood
    uab sti kk vof
    """
)

# Forms that are also ordinary words or name parts ("PT", "SIA", "EST", "TOO", "AD"): dropped
# only at the start or the end of a name, where a legal form stands.
EDGE_FORMS = _words("pt tbk sia est too ao ad ou sl ike odo cia snc spk sp")

# Words that join rather than name: "SMITH & SONS" is "SMITH AND SONS" is "SMITH SONS".
_CONNECTIVES = _words("and the")

# Several-word legal forms that rigour does not know, dropped as a sequence so that their words
# stay meaningful elsewhere ("CONG" alone may be part of a name; "CONG TY" is Vietnamese for
# "company"). Longest first.
_LEGAL_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (
            tuple(phrase.split())
            for phrase in (
                "cong ty co phan",
                "cong ty tnhh",
                "cong ty",
                "co phan",
                "trach nhiem huu han",
                "youxian zeren gongsi",
                "gufen youxian gongsi",
                "youxian gongsi",
                "s de rl de cv",
                "s de rl",
                "sa de cv",
                "sp z oo",
                "san ve tic",
                "a s",  # A/S
                "private limited",
            )
        ),
        key=len,
        reverse=True,
    )
)
_PHRASES_BY_HEAD: dict[str, list[tuple[str, ...]]] = {}
for _phrase in _LEGAL_PHRASES:
    _PHRASES_BY_HEAD.setdefault(_phrase[0], []).append(_phrase)

# Chinese legal forms written in characters, longest first, cut from the end of a token before
# it is transliterated (Chinese names are written without spaces).
_CJK_SUFFIXES: tuple[str, ...] = (
    "股份有限公司",
    "有限责任公司",
    "有限責任公司",
    "有限公司",
    "公司",
)


class NameForms(NamedTuple):
    """The forms of one name that the watch list compares."""

    key: str  # significant words, sorted: spellings and word orders of one name agree
    compact: str  # significant words in the order written, without spaces ("HUA WEI" = 华为)
    written: str  # every word in the order written, legal forms kept: a cut name is a prefix


def fold(text: str) -> str:
    """Casefolded text without diacritics; compatibility forms (full-width, ligatures) undone."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", without_format_characters(text))
    kept: list[str] = []
    base = ""
    recompose = False
    for ch in decomposed:
        if not unicodedata.combining(ch):
            base = ch
        elif "\u0400" <= base <= "\u04ff":
            # Cyrillic short I, YO and YI are letters of their own, not I, YE and I marked.
            recompose = True
        else:
            continue
        kept.append(ch)
    bare = "".join(kept)
    if recompose:
        bare = unicodedata.normalize("NFC", bare)
    return bare.casefold().translate(_FOLD)


@lru_cache(maxsize=_CACHE_SIZE)
def name_forms(text: str) -> NameForms:
    """The key, compact and written forms of a name (see ``NameForms``)."""
    words = _written_words(text)
    kept = _drop_legal_forms(words, _library_forms(text)) or words
    return NameForms(" ".join(sorted(kept)), "".join(kept), " ".join(words))


def name_tokens(text: str) -> list[str]:
    """The name's significant words, in the order written."""
    words = _written_words(text)
    # A name made of legal-form words only ("AB") keeps them: an empty key would match nothing.
    return _drop_legal_forms(words, _library_forms(text)) or words


def normalise_name(text: str) -> str:
    """The comparison key of a name: significant words, sorted, one space apart."""
    return name_forms(text).key


def normalise_id(value: str) -> str:
    """An identifier compared without case, spaces or punctuation ("de-123 45" is DE12345)."""
    return _NON_WORD.sub("", fold(value)).upper()


def _written_words(text: str) -> list[str]:
    folded = _ABBREVIATION.sub(lambda m: m.group().replace(".", ""), fold(text))
    words = _NON_WORD.sub(" ", folded).split()
    if folded.isascii():
        return words
    return [latin for word in words for latin in _latin_word(word)]


@lru_cache(maxsize=_CACHE_SIZE)
def _latin_word(word: str) -> tuple[str, ...]:
    """A folded word in Latin letters: one word, several, or none (a script that cannot be
    transliterated comes out as "?", which is no word). The transliterator costs about 10 µs a
    letter, so words, which names share ("OOO", "TREIDING" in Cyrillic), are cached apart from
    names."""
    if word.isascii():
        return (word,)
    try:
        if _HAN.search(word):
            # Pinyin comes out a syllable at a time; one Chinese word stays one word.
            syllables = _NON_WORD.sub("", ascii_text(_strip_cjk_suffix(word))).casefold()
            return (syllables,) if syllables else ()
        return tuple(_NON_WORD.sub(" ", ascii_text(word)).casefold().split())
    except UnicodeError:  # a lone surrogate, which no transliterator takes
        return ()


def _drop_legal_forms(words: list[str], forms: list[tuple[str, ...]]) -> list[str]:
    for form in forms:
        words = _without(words, form)
    kept: list[str] = []
    i = 0
    while i < len(words):
        phrase = _phrase_at(words, i)
        if phrase:
            i += phrase
            continue
        word = words[i]
        if word not in LEGAL_FORMS and word not in _CONNECTIVES:
            kept.append(word)
        i += 1
    start, end = 0, len(kept)
    while start < end and kept[start] in EDGE_FORMS:
        start += 1
    while end > start and kept[end - 1] in EDGE_FORMS:
        end -= 1
    return kept[start:end]


def _library_forms(text: str) -> list[tuple[str, ...]]:
    """The legal forms rigour finds in a name, as written words; not its short one-word forms.

    rigour matches its forms as they are written, accents and script kept ("société anonyme",
    "ανώνυμη εταιρεία"), so it reads the name before folding and transliteration."""
    clean = text
    if not text.isascii():
        # A lone surrogate (a JSON escape can give one) is no letter, and rigour refuses it.
        valid = text.encode("utf-8", "ignore").decode("utf-8")
        clean = unicodedata.normalize("NFC", without_format_characters(valid))
    return [
        tuple(_written_words(matched))
        for matched, _ in extract_org_types(clean.casefold())
        if " " in matched.strip() or len(matched) > _SHORT_FORM
    ]


def _without(words: list[str], form: tuple[str, ...]) -> list[str]:
    size = len(form)
    if not size:
        return words
    kept: list[str] = []
    i = 0
    while i < len(words):
        if tuple(words[i : i + size]) == form:
            i += size
        else:
            kept.append(words[i])
            i += 1
    return kept


def _phrase_at(words: list[str], i: int) -> int:
    for phrase in _PHRASES_BY_HEAD.get(words[i], ()):
        if tuple(words[i : i + len(phrase)]) == phrase:
            return len(phrase)
    return 0


def _strip_cjk_suffix(word: str) -> str:
    if not word.endswith(_CJK_SUFFIXES):
        return word
    for suffix in _CJK_SUFFIXES:
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word
