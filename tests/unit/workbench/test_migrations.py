from __future__ import annotations

from pipeline.workbench.migrations import available


def test_migrations_are_numbered_in_order_and_ship_with_the_package() -> None:
    found = available()
    assert [m.number for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "0001_cases.sql"
    assert "CREATE TABLE cases" in found[0].sql


def test_cases_keep_their_master_number_with_an_index_of_its_own() -> None:
    master = next(m for m in available() if m.name == "0003_master_number.sql")
    assert "ADD COLUMN master_number text" in master.sql
    assert "WHERE master_number IS NOT NULL" in master.sql
