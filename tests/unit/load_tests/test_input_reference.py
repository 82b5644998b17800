"""The bench's reference data for its own input: entries for a share of the input's companies."""

from __future__ import annotations

import msgspec
import orjson

from load_tests.input_reference import names_in, watchlist_entries
from pipeline.contract.models import WatchlistEntry
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig


def _rows(count: int) -> list[dict[str, str | None]]:
    return [
        {"operator_id": f"NLAEOF{n}", "name": f"Company {n} BV", "country": "NL"}
        for n in range(count)
    ]


def test_one_percent_of_the_names_fixed_seed_fixed_ids() -> None:
    entries = watchlist_entries(_rows(400))
    assert [e.entry_id for e in entries] == ["BENCH-CO-1", "BENCH-CO-2", "BENCH-CO-3", "BENCH-CO-4"]
    assert len({e.name for e in entries}) == 4
    assert {e.name for e in entries} <= {f"Company {n} BV" for n in range(400)}
    assert {e.action for e in entries} <= {"DNL", "HRCM", "RFI"}
    assert all(e.country == "NL" and e.list == "BENCH" for e in entries)
    assert watchlist_entries(_rows(400)) == entries


def test_at_least_one_entry_and_duplicate_names_count_once() -> None:
    rows = [*_rows(3), *_rows(3)]
    assert len(watchlist_entries(rows)) == 1
    assert watchlist_entries([]) == []


def test_entries_fit_the_contract() -> None:
    for entry in watchlist_entries(_rows(300)):
        assert msgspec.json.decode(msgspec.json.encode(entry), type=WatchlistEntry) == entry


def test_the_input_generator_names_its_listed_companies() -> None:
    generator = DeclarationGenerator(GeneratorConfig(seed=42, risky_share=0.05))
    names = [e.name for e in watchlist_entries(generator.aeo_records())]
    assert names
    hits = sum(names_in(m.value, names) for m in generator.messages(3000))
    assert hits > 0


def test_names_in_matches_the_json_spelling() -> None:
    value = orjson.dumps({"consignor": {"name": "Krüger Paper GmbH"}})
    assert names_in(value, ["Krüger Paper GmbH"])
    assert not names_in(value, ["Krüger Tools GmbH"])
