"""The labelled name-matching set: built the same way every time, and measuring what it says."""

# Names in other scripts are what this is about: their letters look like Latin ones.
# ruff: noqa: RUF001

from __future__ import annotations

import json
from pathlib import Path

import pytest

from load_tests import name_matching
from load_tests.name_matching import Case, build_cases, evaluate, load, read_ams_names, read_sdn


@pytest.fixture(scope="module")
def small() -> tuple[list[Case], dict[str, dict[str, object]]]:
    entries, entities = read_sdn()
    entries = entries[:600]  # a slice: the measure, not the list, is under test
    cases = build_cases(entries, entities, read_ams_names(), per_category=25, seed=3)
    return cases, evaluate(load(entries), cases)["categories"]


def test_the_set_is_deterministic_and_has_every_category(
    small: tuple[list[Case], dict[str, dict[str, object]]],
) -> None:
    cases, figures = small
    entries, entities = read_sdn()
    again = build_cases(entries[:600], entities, read_ams_names(), per_category=25, seed=3)
    assert again == cases
    assert set(figures) == {*name_matching.POSITIVES, *name_matching.NEGATIVES}
    truncated = [c for c in cases if c.category == "truncated_35"]
    assert len(truncated) == 25
    assert all(len(c.query) == name_matching.AMS_CUT for c in truncated)


def test_cut_names_and_names_as_listed_are_found_and_negatives_are_not(
    small: tuple[list[Case], dict[str, dict[str, object]]],
) -> None:
    _, figures = small
    assert figures["truncated_35"]["rate"] >= 0.9  # type: ignore[operator]
    assert figures["as_listed"]["rate"] == 1.0
    assert figures["legal_form"]["rate"] >= 0.9  # type: ignore[operator]
    for negative in name_matching.NEGATIVES:
        assert figures[negative]["matched"] == 0, negative


def test_reverse_transliteration_is_letter_for_letter() -> None:
    assert name_matching.to_script("SHIPPING CO., LTD.", "cyrillic") == "ШИППИНГ КО., ЛТД."
    assert name_matching.to_script("THETA 7", "greek") == "ΘΕΤΑ 7"


def test_a_run_keeps_the_recorded_before_figures(tmp_path: Path) -> None:
    args = ["--per-category", "5", "--results", str(tmp_path)]
    assert name_matching.main([*args, "--record", "before", "--commit", "abc1234"]) == 0
    before = json.loads((tmp_path / "names.json").read_text())["before"]
    assert name_matching.main(args) == 0
    recorded = json.loads((tmp_path / "names.json").read_text())
    assert recorded["before"] == before
    assert before["commit"] == "abc1234"
    assert recorded["after"]["categories"]["as_listed"]["rate"] == 1.0
    report = (tmp_path / "names.md").read_text()
    assert "- before: commit abc1234" in report
    assert "| truncated_35 | recall |" in report
