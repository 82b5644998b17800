from __future__ import annotations

import pytest

from pipeline.workbench.worklist import Filters, _conditions


def _search(term: str) -> tuple[str, list[object]]:
    where, params = _conditions(Filters(q=term, status="all"))
    return " AND ".join(repr(w) for w in where), params


@pytest.mark.parametrize("written", ["MEDU 1234567", "medu1234567", " medu-123 4567 "])
def test_a_master_number_is_searched_as_the_worker_links_houses(written: str) -> None:
    condition, params = _search(written)
    assert "master_number = %s" in condition
    assert params[-1] == "MEDU1234567"


def test_a_term_of_punctuation_alone_matches_no_master() -> None:
    _, params = _search("--")
    assert params[-1] is None


def test_the_other_search_terms_are_kept() -> None:
    _, params = _search("MSKU1234565")
    assert params[:4] == ["MSKU1234565", "MSKU1234565", "MSKU1234565", "%MSKU1234565%"]
