"""The tables' folder keeps only copies of the changelog topics Kafka has now."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.worker.local_state import STAMP, keep_tables_of

CHANGELOGS = {"versions": "app-versions-changelog", "join": "app-join-changelog"}
IDS = {"app-versions-changelog": "id-v1", "app-join-changelog": "id-j1"}


def copies(tabledir: Path, *names: str) -> None:
    for name in names:
        (tabledir / name).mkdir(parents=True)
        (tabledir / name / "CURRENT").write_text("MANIFEST-000005\n")


def held(tabledir: Path) -> list[str]:
    return sorted(p.name for p in tabledir.iterdir() if p.name != STAMP)


def test_a_new_folder_is_stamped_with_the_changelog_ids(tmp_path: Path) -> None:
    tabledir = tmp_path / "tables"
    assert keep_tables_of(tabledir, CHANGELOGS, IDS) == []
    assert json.loads((tabledir / STAMP).read_text()) == IDS


def test_copies_of_the_same_topics_are_kept(tmp_path: Path) -> None:
    tabledir = tmp_path / "tables"
    keep_tables_of(tabledir, CHANGELOGS, IDS)
    copies(tabledir, "versions-0.db", "versions-11.db", "join-3.db")
    assert keep_tables_of(tabledir, CHANGELOGS, IDS) == []
    assert held(tabledir) == ["join-3.db", "versions-0.db", "versions-11.db"]


def test_a_changelog_created_again_discards_only_its_table(tmp_path: Path) -> None:
    tabledir = tmp_path / "tables"
    keep_tables_of(tabledir, CHANGELOGS, IDS)
    copies(tabledir, "versions-0.db", "versions-11.db", "join-3.db")
    recreated = {**IDS, "app-versions-changelog": "id-v2"}
    assert keep_tables_of(tabledir, CHANGELOGS, recreated) == ["versions"]
    assert held(tabledir) == ["join-3.db"]
    assert json.loads((tabledir / STAMP).read_text()) == recreated


def test_copies_without_a_stamp_are_not_trusted(tmp_path: Path) -> None:
    """Tables left by a worker that did not note its changelogs, or a stamp that cannot be
    read: whatever they were built from, they are rebuilt."""
    tabledir = tmp_path / "tables"
    copies(tabledir, "versions-0.db", "join-3.db")
    (tabledir / STAMP).write_text("{not json")
    assert keep_tables_of(tabledir, CHANGELOGS, IDS) == ["join", "versions"]
    assert held(tabledir) == []


def test_another_app_ids_topics_discard_the_copies(tmp_path: Path) -> None:
    tabledir = tmp_path / "tables"
    keep_tables_of(tabledir, CHANGELOGS, IDS)
    copies(tabledir, "versions-0.db")
    other = {"versions": "other-versions-changelog", "join": "other-join-changelog"}
    other_ids = {"other-versions-changelog": "id-x", "other-join-changelog": "id-y"}
    assert keep_tables_of(tabledir, other, other_ids) == ["versions"]
    assert held(tabledir) == []
