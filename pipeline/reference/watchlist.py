"""Watch-list screening of parties: by identifier, by normalised name or alias, and fuzzily.

Everything is indexed, so that a lookup costs about the same with 1,000 entries as with
100,000:

- identifiers: a dict from the normalised value to the entries that list it;
- vessels (contract v1.1): a dict from the seven digits of an ``IMO`` id to the entries;
- names and aliases: a dict from the normalised name (see ``normalise``) to the entries, and
  one from the significant words in order without spaces, so that "HUA WEI", "HUAWEI" and 华为
  (transliterated a word at a time) are one name;
- truncated names: US manifests (AMS) cut names at 35 characters. A filed name whose written
  form (``NameForms.written``: folded, transliterated, punctuation as single spaces, every word
  kept in order; its length counted on that form) has at least ``TRUNCATED_MIN_LENGTH``
  characters and starts a listed name's or alias's written form matches it as ``TRUNCATED``,
  scored ``TRUNCATED_SCORE``: below an exact name, as the rest of the name was not seen. The
  index is a dict from the first ``TRUNCATED_MIN_LENGTH`` characters of each written form long
  enough to the names that begin so; the few found are checked with ``startswith``;
- fuzzy: an inverted index from blocking keys to the names that have them. The keys of a name
  are its words, plus the first and the last four letters of the name written without spaces,
  so that a misspelt one-word name still shares a key. Each key's names are kept sorted by
  length: a name whose length alone rules out the threshold is never compared. The keys of a
  party's name are probed rarest first, and the comparisons stop at ``max_candidates``. That
  bounds the worst case, a name whose every key is common in the list, at the price of
  missing a fuzzy match there (its exact match is still found).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from rapidfuzz import fuzz, process

from pipeline.contract.models import Party, WatchlistEntry
from pipeline.reference.normalise import NameForms, name_forms, normalise_id
from pipeline.reference.vessels import normalise_imo

__all__ = ["TRUNCATED_MIN_LENGTH", "TRUNCATED_SCORE", "Watchlist", "WatchlistFinding"]

_T = TypeVar("_T")

MatchHow = Literal["ID", "NAME", "ALIAS", "TRUNCATED", "FUZZY"]

_SEVERITY = {"DNL": 0, "HRCM": 1, "RFI": 2}
# For one entry, the strongest evidence is reported: an identifier beats a name, a name an
# alias, any exact match the start of a name, and that a fuzzy match.
_STRENGTH: dict[str, int] = {"ID": 0, "NAME": 1, "ALIAS": 2, "TRUNCATED": 3, "FUZZY": 4}

DEFAULT_FUZZY_THRESHOLD = 92.0
DEFAULT_MAX_CANDIDATES = 500
_AFFIX = 4
_CUTOFF_SLACK = 0.01
# Shorter cuts are too often the start of many names ("NATIONAL IRANIAN OIL" is 20 characters);
# AMS cuts at 35 and the written form is rarely more than five characters shorter than that.
TRUNCATED_MIN_LENGTH = 30
# Below an exact name (100) and the fuzzy threshold: a cut name is weaker evidence.
TRUNCATED_SCORE = 90.0
# A compact form this short ("AB C" = "ABC") is too often two different names.
_COMPACT_MIN_LENGTH = 8


@dataclass(frozen=True, slots=True)
class WatchlistFinding:
    entry_id: str
    list: str
    action: str
    reason: str
    how: MatchHow
    score: float
    matched: str  # the entry's identifier, name or alias that matched, as the list writes it


@dataclass(frozen=True, slots=True)
class _Name:
    """One name or alias of an entry, filed under its normalised key."""

    entry_id: str
    how: Literal["NAME", "ALIAS"]
    text: str


@dataclass(frozen=True, slots=True)
class _Id:
    entry_id: str
    scheme: str
    text: str


class Watchlist:
    """The watch-list entries in force, kept up to date with ``put`` and ``delete``."""

    def __init__(
        self,
        fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD,
        max_candidates: int = DEFAULT_MAX_CANDIDATES,
    ) -> None:
        if not 0 < fuzzy_threshold <= 100:
            raise ValueError("fuzzy_threshold must be in (0, 100]")
        self.fuzzy_threshold = fuzzy_threshold
        self.max_candidates = max_candidates
        self._entries: dict[str, WatchlistEntry] = {}
        # Normalised name → the names and aliases that have it. Tuples: most hold one name.
        self._exact: dict[str, tuple[_Name, ...]] = {}
        self._compact: dict[str, tuple[_Name, ...]] = {}
        # First TRUNCATED_MIN_LENGTH characters of a written form → (written form, name).
        self._prefixes: dict[str, tuple[tuple[str, _Name], ...]] = {}
        # Blocking key → the distinct normalised names that have it, shortest first. They are
        # the very strings of ``_exact``'s keys, so the index holds references, not copies.
        self._postings: dict[str, list[str]] = {}
        self._ids: dict[str, tuple[_Id, ...]] = {}
        self._imos: dict[str, tuple[_Id, ...]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._entries

    def put(self, entry: WatchlistEntry) -> None:
        """Add an entry, or replace the one with the same ``entry_id``."""
        self.delete(entry.entry_id)
        self._entries[entry.entry_id] = entry
        for forms, name in _names(entry):
            key = forms.key
            held = self._exact.get(key)
            if held is None:
                self._exact[key] = (name,)
                for block in _blocking_keys(key):
                    _insort(self._postings.setdefault(block, []), key)
            else:
                self._exact[key] = (*held, name)
            if len(forms.compact) >= _COMPACT_MIN_LENGTH:
                self._compact[forms.compact] = (*self._compact.get(forms.compact, ()), name)
            if len(forms.written) >= TRUNCATED_MIN_LENGTH:
                head = forms.written[:TRUNCATED_MIN_LENGTH]
                self._prefixes[head] = (*self._prefixes.get(head, ()), (forms.written, name))
        for value, listed in _ids(entry):
            self._ids[value] = (*self._ids.get(value, ()), listed)
        for value, listed in _imos(entry):
            self._imos[value] = (*self._imos.get(value, ()), listed)

    def delete(self, entry_id: str) -> None:
        """Remove an entry; an unknown id is ignored, as a repeated tombstone must be."""
        entry = self._entries.pop(entry_id, None)
        if entry is None:
            return
        for forms, _ in _names(entry):
            _drop(self._compact, forms.compact, lambda n: n.entry_id == entry_id)
            head = forms.written[:TRUNCATED_MIN_LENGTH]
            _drop(self._prefixes, head, lambda p: p[1].entry_id == entry_id)
            key = forms.key
            kept = tuple(n for n in self._exact.get(key, ()) if n.entry_id != entry_id)
            if kept:
                self._exact[key] = kept
                continue
            held = self._exact.pop(key, None)
            if held is None:  # an alias that repeats the name: already gone
                continue
            for block in _blocking_keys(key):
                posting = self._postings[block]
                posting.remove(key)
                if not posting:
                    del self._postings[block]
        for value, _ in _ids(entry):
            kept_ids = tuple(i for i in self._ids.get(value, ()) if i.entry_id != entry_id)
            if kept_ids:
                self._ids[value] = kept_ids
            else:
                self._ids.pop(value, None)
        for value, _ in _imos(entry):
            kept_imos = tuple(i for i in self._imos.get(value, ()) if i.entry_id != entry_id)
            if kept_imos:
                self._imos[value] = kept_imos
            else:
                self._imos.pop(value, None)

    def match_vessel(self, imo: str | None) -> list[WatchlistFinding]:
        """Every entry that lists the vessel's IMO number, most severe action first."""
        digits = normalise_imo(imo)
        if digits is None:
            return []
        findings = [
            self._finding(listed.entry_id, "ID", 100.0, listed.text)
            for listed in self._imos.get(digits, ())
        ]
        findings.sort(key=lambda f: (_SEVERITY[f.action], f.entry_id))
        return findings

    def match(self, party: Party) -> list[WatchlistFinding]:
        """Every entry the party matches, most severe action first, then highest score."""
        best: dict[str, tuple[MatchHow, float, str]] = {}

        def found(entry_id: str, how: MatchHow, score: float, matched: str) -> None:
            held = best.get(entry_id)
            if held is None or (_STRENGTH[how], -score) < (_STRENGTH[held[0]], -held[1]):
                best[entry_id] = (how, score, matched)

        for party_id in party.ids:
            for listed in self._ids.get(normalise_id(party_id.value), ()):
                # OTHER on either side says "some identifier": the value alone decides.
                if party_id.scheme == listed.scheme or "OTHER" in (party_id.scheme, listed.scheme):
                    found(listed.entry_id, "ID", 100.0, listed.text)
        forms = name_forms(party.name)
        key = forms.key
        if key:
            for name in self._exact.get(key, ()):
                found(name.entry_id, name.how, 100.0, name.text)
            for name in self._compact.get(forms.compact, ()):
                found(name.entry_id, name.how, 100.0, name.text)
            written = forms.written
            if len(written) >= TRUNCATED_MIN_LENGTH:
                for whole, name in self._prefixes.get(written[:TRUNCATED_MIN_LENGTH], ()):
                    if whole.startswith(written):
                        found(name.entry_id, "TRUNCATED", TRUNCATED_SCORE, name.text)
            for similar, score in self._fuzzy(key):
                for name in self._exact[similar]:
                    found(name.entry_id, "FUZZY", score, name.text)
        findings = [self._finding(entry_id, *held) for entry_id, held in best.items()]
        findings.sort(key=lambda f: (_SEVERITY[f.action], -f.score, _STRENGTH[f.how], f.entry_id))
        return findings

    def _fuzzy(self, key: str) -> list[tuple[str, float]]:
        """The normalised names at or above the threshold, among those that share a key."""
        # Indel similarity of lengths a and b is at most 2·min(a, b)/(a + b): names outside
        # this length window cannot reach the threshold and are not compared. rapidfuzz's
        # batch cutoff rounds against a score that equals it, so a slightly lower cutoff is
        # given and the threshold itself is applied to the scores it returns.
        threshold = self.fuzzy_threshold
        t = threshold - _CUTOFF_SLACK
        shortest = math.ceil(len(key) * t / (200 - t))
        longest = math.floor(len(key) * (200 - t) / t)
        windows: list[tuple[int, list[str], int, int]] = []
        for block in _blocking_keys(key):
            posting = self._postings.get(block)
            if posting is not None:
                lo = bisect_left(posting, shortest, key=len)
                hi = bisect_right(posting, longest, key=len)
                if hi > lo:
                    windows.append((hi - lo, posting, lo, hi))
        windows.sort(key=lambda w: w[0])
        hits: list[tuple[str, float]] = []
        budget = self.max_candidates
        for size, posting, lo, hi in windows:
            if size > budget:
                break
            budget -= size
            # The keys are normalised with their words sorted, so the plain ratio on them is
            # token_sort_ratio without re-sorting every candidate. token_sort_ratio, not WRatio:
            # WRatio's partial and token-set parts score a short listed name contained in a
            # longer one ("IRAN" in "IRAN SHIPPING LINES") near 100, a flood of false referrals.
            hits += [
                (similar, float(score))
                for similar, score, _ in process.extract(
                    key, posting[lo:hi], scorer=fuzz.ratio, score_cutoff=t, limit=None
                )
                if score >= threshold
            ]
        return hits

    def _finding(
        self, entry_id: str, how: MatchHow, score: float, matched: str
    ) -> WatchlistFinding:
        entry = self._entries[entry_id]
        return WatchlistFinding(
            entry_id=entry_id,
            list=entry.list,
            action=entry.action,
            reason=entry.reason,
            how=how,
            score=round(score, 1),
            matched=matched,
        )


def _names(entry: WatchlistEntry) -> list[tuple[NameForms, _Name]]:
    names = [(name_forms(entry.name), _Name(entry.entry_id, "NAME", entry.name))]
    names += [(name_forms(a), _Name(entry.entry_id, "ALIAS", a)) for a in entry.aliases]
    return [(forms, name) for forms, name in names if forms.key]


def _drop(index: dict[str, tuple[_T, ...]], key: str, gone: Callable[[_T], bool]) -> None:
    """Take an entry's items out of one key of an index; the key goes when it holds none."""
    held = index.get(key)
    if held is None:
        return
    kept = tuple(item for item in held if not gone(item))
    if kept:
        index[key] = kept
    else:
        del index[key]


def _ids(entry: WatchlistEntry) -> list[tuple[str, _Id]]:
    return [
        (value, _Id(entry.entry_id, i.scheme, f"{i.scheme}:{i.value}"))
        for i in entry.ids
        if (value := normalise_id(i.value))
    ]


def _imos(entry: WatchlistEntry) -> list[tuple[str, _Id]]:
    return [
        (digits, _Id(entry.entry_id, "IMO", f"IMO:{i.value}"))
        for i in entry.ids
        if i.scheme == "IMO" and (digits := normalise_imo(i.value))
    ]


def _blocking_keys(key: str) -> set[str]:
    keys = set(key.split())
    squeezed = key.replace(" ", "")
    if len(squeezed) > _AFFIX:
        keys.add("<" + squeezed[:_AFFIX])
        keys.add(">" + squeezed[-_AFFIX:])
    return keys


def _insort(posting: list[str], key: str) -> None:
    posting.insert(bisect_right(posting, len(key), key=len), key)
