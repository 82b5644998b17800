"""Every message of the hostile corpus through the Screener with the real default rule set.

Each one is rejected with the code (and path) the contract asks for, or screened into an
assessment that validates against the shipped schema; nothing raises. Each case has its own
test with a timeout, so a case that makes decoding or evaluation blow up fails on its own.
"""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from pipeline import topics
from pipeline.contract.models import WatchlistEntry
from pipeline.contract.schemas import load_schema
from pipeline.records import InputRecord
from pipeline.reference.aeo import AeoRegistry
from pipeline.reference.parties import ReferenceData
from pipeline.reference.watchlist import Watchlist
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.screening.batch import BatchResult, Screener
from pipeline.screening.ledger import DictLedger
from tests.hostile_corpus import (
    DEFAULT_MAX_MESSAGE_BYTES,
    HostileCase,
    encode,
    full_declaration,
    hostile_corpus,
)

RULES_DIR = Path(__file__).resolve().parents[3] / "rules"
CORPUS = hostile_corpus()
CASE_TIMEOUT_S = 60


@cache
def screener() -> Screener:
    """The default rules, and a watch list whose names the odd party names play against."""
    watchlist = Watchlist()
    for number, name in enumerate(
        ("ACME TRADING", "GLOBAL ARMS EXPORT LTD", "EXAMPLE SHIPPING FZE")
    ):
        watchlist.put(WatchlistEntry(f"W{number}", name, list="NATIONAL", action="HRCM"))
    reference = ReferenceData(AeoRegistry(), watchlist)
    evaluator = RuleEvaluator(CompiledRuleSet(load_ruleset(RULES_DIR)), reference)
    return Screener(evaluator, max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES)


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name), format_checker=FormatChecker())


def screen(records: list[InputRecord]) -> BatchResult:
    engine = screener()
    return engine.finish(engine.prepare(records), DictLedger())


def as_record(case: HostileCase, offset: int = 7) -> InputRecord:
    return InputRecord(topics.DECLARATIONS, case.key, case.value, 3, offset)


def outputs_by_topic(result: BatchResult) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for output in result.outputs:
        assert output.value is not None or output.topic == topics.HITS
        if output.value is not None:
            found.setdefault(output.topic, []).append(orjson.loads(output.value))
    return found


def _names_a_filer(raw: bytes | None) -> bool:
    """A JSON object with a filer_id, or a declarant id, to address a REJECTED notice to."""
    try:
        document = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return False
    if not isinstance(document, dict):
        return False
    if isinstance(document.get("filer_id"), str) and document["filer_id"].strip():
        return True
    declarant = document.get("declarant")
    ids = declarant.get("ids") if isinstance(declarant, dict) else None
    first = ids[0] if isinstance(ids, list) and ids else None
    value = first.get("value") if isinstance(first, dict) else None
    return isinstance(value, str) and bool(value.strip())


def check_notices(case: HostileCase, notices: list[dict[str, Any]], rejection: Any) -> None:
    """A rejected message naming a filer gets one REJECTED notice, whose errors name the
    rejection's path (or a field under it) in plain words; any other gets none."""
    for notice in notices:
        validator("notice").validate(notice)
    if case.expected is None:
        assert all(n["kind"] != "REJECTED" for n in notices)
        return
    if case.expected not in ("SCHEMA", "TOO_LARGE") or not _names_a_filer(case.value):
        assert notices == []
        return
    [notice] = notices
    assert notice["kind"] == "REJECTED"
    paths = [error["path"] for error in notice["errors"]]
    assert any(path.startswith(rejection["error"]["path"] or "$") for path in paths), paths
    for error in notice["errors"]:
        assert error["message"]
        assert "(?!" not in error["message"]  # no regular expression
        assert "{1," not in error["message"]


def check_handled(case: HostileCase, result: BatchResult, offset: int = 7) -> None:
    """The one output the case must give, valid against its schema."""
    found = outputs_by_topic(result)
    notices = found.pop(topics.FILER_NOTICES, [])
    if case.expected is None:
        assert list(found.get(topics.DLQ, [])) == [], found.get(topics.DLQ)
        [assessment] = found[topics.ASSESSMENTS]
        validator("assessment").validate(assessment)
        assert assessment["declaration_id"] == case.declaration_id
        for hit in found.get(topics.HITS, []):
            validator("hit").validate(hit)
        check_notices(case, notices, None)
        return
    assert topics.ASSESSMENTS not in found
    [rejection] = found[topics.DLQ]
    validator("rejection").validate(rejection)
    assert rejection["error"]["code"] == case.expected, rejection["error"]
    assert rejection["error"]["message"]
    if case.path is not None:
        assert rejection["error"]["path"] == case.path, rejection["error"]
    assert base64.b64decode(rejection["original"]) == (case.value or b"")
    assert rejection["source"] == {"topic": topics.DECLARATIONS, "partition": 3, "offset": offset}
    check_notices(case, notices, rejection)


def test_the_corpus_is_large_and_covers_every_code() -> None:
    assert len(CORPUS) >= 100
    expected = {case.expected for case in CORPUS}
    assert expected == {None, "INVALID_JSON", "NOT_AN_OBJECT", "SCHEMA", "TOO_LARGE", "ENCODING"}


@pytest.mark.timeout(CASE_TIMEOUT_S)
@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_hostile_message_is_rejected_or_screened_safely(case: HostileCase) -> None:
    check_handled(case, screen([as_record(case)]))


@pytest.mark.timeout(CASE_TIMEOUT_S * 2)
def test_the_whole_corpus_in_one_batch_with_good_declarations_between() -> None:
    """Bad messages do not disturb the good ones screened beside them in a batch."""
    records: list[InputRecord] = []
    good_ids = []
    for offset, case in enumerate(CORPUS):
        good = full_declaration(f"GOOD-{offset:03d}")
        good_ids.append(good["declaration_id"])
        records.append(
            InputRecord("t", good["declaration_id"].encode(), encode(good), 0, 2 * offset)
        )
        records.append(InputRecord("t", case.key, case.value, 0, 2 * offset + 1))
    found = outputs_by_topic(screen(records))
    assessed = [a["declaration_id"] for a in found[topics.ASSESSMENTS]]
    screened_cases = [case.declaration_id for case in CORPUS if case.expected is None]
    assert sorted(assessed) == sorted(good_ids + screened_cases)
    assert {a["outcome"] for a in found[topics.ASSESSMENTS] if a["declaration_id"] in good_ids} == {
        "ASSESSMENT_COMPLETE"
    }
    rejected = {r["source"]["offset"]: r["error"]["code"] for r in found[topics.DLQ]}
    assert rejected == {
        2 * i + 1: case.expected for i, case in enumerate(CORPUS) if case.expected is not None
    }
