"""Party names and identifiers reduced to a comparable form.

Two spellings of one company should give one key: "Müller Logistik GmbH", "MULLER LOGISTIK
G.m.b.H." and "Logistik Müller" all become ``logistik muller``. The steps:
Unicode NFKD with diacritics stripped (plus the few letters NFKD does not decompose), casefold,
dotted abbreviations joined ("S.A." is ``sa``), punctuation to spaces, legal-form and connective
words ("and", "the") dropped, tokens sorted so that word order does not matter.
"""

from __future__ import annotations

import re
import unicodedata

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


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Legal forms carry no identity: "ACME LTD" and "ACME LIMITED" are one company. These are
# dropped wherever they stand. TNHH, CTY and CTCP are Vietnamese (limited liability, company,
# joint stock company).
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

# Several-word legal forms, dropped as a sequence so that their words stay meaningful elsewhere
# ("CONG" alone may be part of a name; "CONG TY" is Vietnamese for "company"). Longest first.
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

# Chinese legal forms written in characters, longest first, cut from the end of a token
# (Chinese names are written without spaces).
_CJK_SUFFIXES: tuple[str, ...] = (
    "股份有限公司",
    "有限责任公司",
    "有限責任公司",
    "有限公司",
    "公司",
)


def fold(text: str) -> str:
    """Casefolded text without diacritics; compatibility forms (full-width, ligatures) undone."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", without_format_characters(text))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.casefold().translate(_FOLD)


def name_tokens(text: str) -> list[str]:
    """The name's significant words, in the order written."""
    folded = _ABBREVIATION.sub(lambda m: m.group().replace(".", ""), fold(text))
    words = _NON_WORD.sub(" ", folded).split()
    kept = _drop_legal_forms(words)
    # A name made of legal-form words only ("AB") keeps them: an empty key would match nothing.
    return kept or words


def normalise_name(text: str) -> str:
    """The comparison key of a name: significant words, sorted, one space apart."""
    return " ".join(sorted(name_tokens(text)))


def normalise_id(value: str) -> str:
    """An identifier compared without case, spaces or punctuation ("de-123 45" is DE12345)."""
    return _NON_WORD.sub("", fold(value)).upper()


def _drop_legal_forms(words: list[str]) -> list[str]:
    kept: list[str] = []
    i = 0
    while i < len(words):
        phrase = _phrase_at(words, i)
        if phrase:
            i += phrase
            continue
        word = _strip_cjk_suffix(words[i])
        if word and word not in LEGAL_FORMS and word not in _CONNECTIVES:
            kept.append(word)
        i += 1
    start, end = 0, len(kept)
    while start < end and kept[start] in EDGE_FORMS:
        start += 1
    while end > start and kept[end - 1] in EDGE_FORMS:
        end -= 1
    return kept[start:end]


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
