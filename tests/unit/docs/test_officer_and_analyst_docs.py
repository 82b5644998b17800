"""README.md, docs/targeting-officers.md and docs/risk-analysts.md: their offline commands run
as written, their links lead somewhere, and what they name exists. The commands that need Kafka
run in tests/integration/test_docs.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline import metrics
from pipeline.worker import state_metrics
from tests.doc_commands import ROOT, run, steps, workdir

DOCS = [
    ROOT / "docs" / "targeting-officers.md",
    ROOT / "docs" / "risk-analysts.md",
    ROOT / "README.md",
]


@pytest.mark.parametrize("document", DOCS, ids=lambda d: d.name)
def test_offline_commands_run_as_written(document: Path, tmp_path: Path) -> None:
    folder = workdir(tmp_path)
    for step in steps(document):
        if not step.needs_broker:
            run(step, folder, None)


def test_the_analyst_workflow_leaves_what_it_says() -> None:
    kinds = [step.kind for step in steps(DOCS[1])]
    assert kinds.count("offline") >= 6
    assert kinds.count("file") == 1
    assert kinds.count("broker") == 5


@pytest.mark.parametrize("document", DOCS, ids=lambda d: d.name)
def test_every_command_block_is_run_by_a_test(document: Path) -> None:
    text = document.read_text()
    fences = re.findall(r"(?m)^(.*)\n```console$", text)
    assert fences, "no command blocks"
    for before in fences:
        assert before.startswith("<!-- test: "), f"an unmarked console block after {before!r}"


@pytest.mark.parametrize("document", DOCS, ids=lambda d: d.name)
def test_local_links_point_to_files_that_exist(document: Path) -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", document.read_text()):
        if not target.startswith("http"):
            assert (document.parent / target).exists(), target


def test_the_metric_the_analysts_watch_exists() -> None:
    names = re.findall(r"\b(screening_[a-z_]+)\b", DOCS[1].read_text())
    assert "screening_shadow_matches_total" in names
    exported = {m.name for m in metrics.REGISTRY.collect()} | set(state_metrics.METRIC_NAMES)
    for name in names:
        assert name.removesuffix("_total") in exported, name


def test_the_readme_links_both_documents() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "(docs/targeting-officers.md)" in readme
    assert "(docs/risk-analysts.md)" in readme
