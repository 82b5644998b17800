"""Building the worker's app starts nothing: no thread, no connection. Its services are
started apart (``services.start_services``) and handed in."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pipeline import topics
from pipeline.c2c.sending import load_sharing
from pipeline.reference.aeo import AeoRegistry
from pipeline.reference.parties import ReferenceData
from pipeline.reference.watchlist import Watchlist
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.source import RuleSetHolder
from pipeline.settings import Settings
from pipeline.worker.app import VERSIONS_TABLE, build_app, handoff_spec
from pipeline.worker.feedback import JOIN_TABLE, feedback_topics


def services(default_rules: CompiledRuleSet) -> Any:
    """What ``start_services`` would hand over, nothing of it started."""
    rules = RuleSetHolder()
    rules.replace(default_rules)
    stopped: list[str] = []
    return SimpleNamespace(
        reference=ReferenceData(AeoRegistry([]), Watchlist()),
        rules=rules,
        mirrors=(),
        stopped=stopped,
        stop=lambda: stopped.append("services"),
    )


def test_the_app_has_two_loops_on_two_tables_and_starts_nothing(
    tmp_path: Path, default_rules: CompiledRuleSet
) -> None:
    settings = Settings(
        kafka_bootstrap="127.0.0.1:1", data_dir=tmp_path / "worker", metrics_enabled=False
    )
    sharing = load_sharing(tmp_path / "no-agreements", "NL")
    started = services(default_rules)
    threads = threading.active_count()
    app = build_app(settings, sharing, started)
    assert list(app.agents) == ["screen", "feedback"]
    assert list(app.tables) == [VERSIONS_TABLE, JOIN_TABLE]
    assert threading.active_count() == threads
    assert started.stopped == []
    asyncio.run(app.on_before_shutdown.send())  # as Faust's worker sends it when it stops
    assert started.stopped == ["services"]


def test_the_feedback_loop_reads_examinations_and_its_groups_hand_off_topic() -> None:
    spec = handoff_spec("screening-east", 6)
    assert spec.name == "screening-east-examination-join-assessments"
    # Partitioned as the declarations, so that Faust assigns its partition p with theirs.
    assert spec.partition_count(1) == 6
    assert feedback_topics("screening-east") == (topics.EXAMINATION_RESULTS, spec.name)
