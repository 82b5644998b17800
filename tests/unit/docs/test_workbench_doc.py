"""docs/workbench.md: its links and screenshots exist, and the settings, topics, dispositions and
results it names are the workbench's own. (The pages themselves are driven in a browser by
tests/integration/test_workbench_browser.py, which also takes the screenshots.)"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline import topics
from pipeline.settings import VARIABLES
from pipeline.workbench import cases

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT = ROOT / "docs" / "workbench.md"
# Read by `screening accounts add`, not a setting of the pipeline.
NOT_SETTINGS = {"SCREENING_ACCOUNT_PASSWORD"}


def test_local_links_and_images_point_to_files_that_exist() -> None:
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", DOCUMENT.read_text())
    assert "images/workbench-worklist.png" in targets
    assert "images/workbench-case.png" in targets
    for target in targets:
        if not target.startswith("http"):
            assert (DOCUMENT.parent / target).exists(), target


def test_the_settings_it_names_exist() -> None:
    named = set(re.findall(r"\bSCREENING_[A-Z_]+\b", DOCUMENT.read_text())) - NOT_SETTINGS
    assert named
    fields = {f"SCREENING_{name.upper()}" for name in VARIABLES}
    assert named <= fields, named - fields


def test_the_topics_it_names_exist() -> None:
    named = set(re.findall(r"\bcustoms\.[a-z.]+\.v\d+\b", DOCUMENT.read_text()))
    known = {value for value in vars(topics).values() if isinstance(value, str)}
    assert {topics.EXAMINATION_RESULTS, topics.CASE_EVENTS, topics.WATCHLIST_CLEARANCES} <= named
    assert named <= known, named - known


def test_every_disposition_and_examination_result_is_explained() -> None:
    text = " ".join(DOCUMENT.read_text().split())
    for value in (*cases.DISPOSITIONS, *cases.EXAMINATION_RESULTS):
        assert value.replace("_", " ").lower() in text, value


def test_the_officers_page_links_it() -> None:
    assert "(workbench.md)" in (ROOT / "docs" / "targeting-officers.md").read_text()
