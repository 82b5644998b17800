"""Frames hold, in every column, the value the reference interpreter reads for that field."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso6346

from pipeline.contract.models import Declaration
from pipeline.rules import frames
from pipeline.rules.conditions import normalise_text
from pipeline.rules.fields import FIELDS, Kind, Scope
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.screening.enrich import Enricher
from tests.unit.rules.interpreter import subject_of

KEYS = {frames.ROW, frames.ITEM, frames.PATH, frames.SUBMITTED_DATE}
COLUMNS = {
    Scope.DECLARATION: frames.DECLARATION_COLUMNS,
    Scope.GOODS: frames.GOODS_COLUMNS,
    Scope.PARTY: frames.PARTY_COLUMNS,
    Scope.CONTAINER: frames.CONTAINER_COLUMNS,
}


def _declarations(count: int, seed: int = 5) -> list[Declaration]:
    generator = DeclarationGenerator(GeneratorConfig(seed=seed, risky_share=0.5))
    decoder = msgspec.json.Decoder(Declaration)
    return [decoder.decode(m.value) for m in generator.messages(count)]


def _same(value: Any, expected: Any) -> bool:
    if expected == [] and value is None:  # no routing countries: no list
        return True
    return bool(value == expected)


@pytest.mark.parametrize("scope", list(Scope))
def test_each_scope_has_a_column_for_every_field(scope: Scope) -> None:
    names = COLUMNS[scope]
    assert len(names) == len(set(names))
    assert set(names) - KEYS == set(FIELDS[scope])


def test_every_column_holds_the_interpreters_value() -> None:
    declarations = _declarations(300)
    built = frames.build_frames(Enricher().enrich(declarations))
    subjects = [subject_of(d) for d in declarations]
    for values, subject in zip(built.declarations.iter_rows(named=True), subjects, strict=True):
        for name in FIELDS[Scope.DECLARATION]:
            assert _same(values[name], subject.values[name]), name
        assert values[frames.SUBMITTED_DATE] == subject.submitted_on
    for scope in (Scope.GOODS, Scope.PARTY, Scope.CONTAINER):
        rows = list(built.of(scope).iter_rows(named=True))
        items = [
            (row, index, item)
            for row, subject in enumerate(subjects)
            for index, item in enumerate(subject.items[scope])
        ]
        assert len(rows) == len(items)
        for found, (row, index, item) in zip(rows, items, strict=True):
            assert (found[frames.ROW], found[frames.ITEM]) == (row, index)
            for name in FIELDS[scope]:
                assert _same(found[name], item.values[name]), (scope, name)


def test_text_is_normalised_beside_the_value_as_filed() -> None:
    built = frames.build_frames(Enricher().enrich(_declarations(50)))
    for scope in Scope:
        table = built.of(scope)
        for name, field in FIELDS[scope].items():
            if field.kind is not Kind.TEXT:
                continue
            for value, normalised in zip(table[name], table[name + frames.NORMALISED], strict=True):
                assert normalised == (None if value is None else normalise_text(value))


def test_each_element_of_a_text_list_is_normalised_in_its_place() -> None:
    # Lists of different lengths in one column: normalised as one run, then cut back.
    built = frames.build_frames(Enricher().enrich(_declarations(50)))
    name = "transport.routing_countries"
    lengths = set()
    for value, normalised in zip(
        built.declarations[name].to_list(),
        built.declarations[name + frames.NORMALISED].to_list(),
        strict=True,
    ):
        lengths.add(None if value is None else len(value))
        assert normalised == (None if value is None else [normalise_text(v) for v in value])
    assert len(lengths) >= 2
    lists = [[" ae", "qa"], None, ["x\u00e9 ", " "], ["nl"]]
    assert frames._normalised_lists(lists) == [["AE", "QA"], None, ["X\u00c9", ""], ["NL"]]


def test_lists_that_cannot_be_joined_sit_beside_lists_that_can() -> None:
    # Lists are joined into one text each and split in one query per frame, except a column
    # with an empty list or an element holding the separator, which is built as lists.
    name = "transport.routing_countries"
    at = frames.DECLARATION_COLUMNS.index(name)
    enriched = Enricher().enrich(_declarations(3))
    base = [frames._declaration_row(row, one) for row, one in enumerate(enriched)]
    wanted = frozenset({name, "message_type"})
    joinable: list[list[str] | None] = [["cn", "sg"], None, ["nl"]]
    with_separator: list[list[str] | None] = [["cn", "sg"], ["a\x1fb", "nl"], None]
    with_empty: list[list[str] | None] = [["cn"], [], None]
    for column in (joinable, with_separator, with_empty):
        rows = [(*r[:at], value, *r[at + 1 :]) for r, value in zip(base, column, strict=True)]
        built = frames._frame(rows, frames.DECLARATION_COLUMNS, Scope.DECLARATION, wanted, wanted)
        assert built[name].to_list() == column
        assert built[name + frames.NORMALISED].to_list() == [
            None if c is None else [normalise_text(v) for v in c] for c in column
        ]
        assert built["message_type"].to_list() == [e.declaration.message_type for e in enriched]


def test_values_already_remembered_survive_a_full_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    # The memo is full: it is emptied, and every value must still come back normalised,
    # those it held before as well as the new ones.
    monkeypatch.setattr(frames, "NORMALISED_MEMO_LIMIT", 5)
    monkeypatch.setattr(frames, "_NORMALISED", {})
    assert frames.normalised_all([" a  b", "c"]) == ["A B", "C"]
    values = [" a  b", None, "c", "d ", "e", "f", "g", "c"]
    assert frames.normalised_all(values) == ["A B", None, "C", "D", "E", "F", "G", "C"]
    assert len(frames._NORMALISED) <= 7


# --- the best loading time a filing gives ----------------------------------------------------


def _transport(**fields: Any) -> Any:
    base = {
        "mode": "SEA",
        "loading_location": "CNNGB",
        "discharge_location": "DEHAM",
        "estimated_arrival_at": "2026-12-24T08:00:00Z",
    }
    return msgspec.convert({**base, **fields}, frames.Transport)


def test_best_loading_time_is_the_filed_one_when_given() -> None:
    best = frames.best_loading_time(_transport(estimated_loading_at="2026-11-23T08:00:00Z"))
    assert best.basis == frames.LOADING_BASIS
    assert best.at is not None
    assert best.at.day == 23


def test_best_loading_time_falls_back_to_departure() -> None:
    best = frames.best_loading_time(_transport(estimated_departure_at="2026-11-22T08:00:00Z"))
    assert best.basis == frames.DEPARTURE_BASIS
    assert best.at is not None
    assert best.at.day == 22


def test_best_loading_time_of_a_sea_filing_is_arrival_less_the_sailing_time() -> None:
    best = frames.best_loading_time(_transport())
    assert best.basis == frames.ARRIVAL_BASIS
    assert best.sailing_hours is not None
    assert best.at is not None
    assert (best.at - msgspec.convert("2026-12-24T08:00:00Z", frames.datetime)).days < -8


@pytest.mark.parametrize(
    "fields",
    [
        {"mode": "AIR"},  # no usual sailing time by air
        {"loading_location": "ZZZZZ"},  # a port whose position is unknown
        {"estimated_arrival_at": None},
    ],
)
def test_no_best_loading_time_without_what_it_needs(fields: dict[str, Any]) -> None:
    assert frames.best_loading_time(_transport(**fields)) == frames.BestLoadingTime()


def test_no_transport_no_time() -> None:
    assert frames.best_loading_time(None).at is None


_CONTAINER_TEXT = st.text(alphabet="ABCJRUZ0123456789 ab_Ü١", max_size=13)
_COMPACT_CONTAINER = st.from_regex(r"[A-Z]{3}[UJZR][0-9]{7}", fullmatch=True)


@given(st.one_of(_CONTAINER_TEXT, _COMPACT_CONTAINER))
def test_container_check_digit_agrees_with_python_stdnum(number: str) -> None:
    try:
        expected = bool(iso6346.is_valid(number))
    except ValueError:
        expected = False
    assert frames.check_digit_valid.__wrapped__(number) is expected


def test_container_check_digits_of_real_numbers() -> None:
    assert frames.check_digit_valid("MSKU9070323")  # Maersk, real check digit 3
    assert not frames.check_digit_valid("MSKU9070324")
    assert frames.check_digit_valid("msku 907032 3")  # a form only python-stdnum reads
