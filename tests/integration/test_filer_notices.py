"""Notices to filers through the real broker and the session's worker: one per filing, of its
outcome, keyed by the filer; referrals withdrawn by an amendment; rejections with their paths;
and never a word of why."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from confluent_kafka import Producer

from pipeline import topics
from pipeline.contract.schemas import load_schema
from pipeline.notices.build import notice_id
from pipeline.records import InputRecord
from pipeline.rules.cases import merge
from pipeline.settings import Settings
from tests.factories import amendment, encode, filing
from tests.integration.conftest import ROOT, collect, key_prefix, publish

pytestmark = pytest.mark.integration

WATCHLIST_HEADER = "entry_id,name,aliases,country,ids,list,action,reason\n"
ARMS = "930690"


def _screening(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args, "--bootstrap", settings.kafka.servers],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stderr.decode()


def _filed(declaration_id: str, filer: str, **fragment: Any) -> dict[str, Any]:
    return dict(merge(filing(declaration_id), {"filer_id": filer, **fragment}))


def _values(records: list[InputRecord]) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in records if r.value is not None]


def _notices(settings: Settings, filer: str, expected: int) -> list[dict[str, Any]]:
    found = collect(settings, topics.FILER_NOTICES, lambda r: r.key == filer.encode(), expected)
    notices = _values(found)
    schema = load_schema("notice")
    for notice in notices:
        assert notice["filer_id"] == filer
        jsonschema.validate(notice, schema)
    return notices


def _assessments(settings: Settings, prefix: str, expected: int) -> dict[tuple[str, int], Any]:
    found = _values(collect(settings, topics.ASSESSMENTS, key_prefix(prefix), expected))
    return {(a["declaration_id"], a["version"]): a for a in found}


def _says_nothing_of(notice: dict[str, Any], assessment: dict[str, Any]) -> None:
    """No rule id, reason, score, watch-list entry or list, or evidence value of the
    assessment is in the notice's text."""
    text = notice["text"]
    scrubbed = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC|version \d+", "", text)
    scrubbed = scrubbed.replace(notice["declaration_id"], "")
    for match in assessment["matches"] + assessment["shadow_matches"]:
        assert match["rule_id"] not in text
        assert match["reason"] not in text
        for value in match["evidence"].values():
            if isinstance(value, str) and len(value) >= 4 and value not in ("DEHAM",):
                assert value not in scrubbed, (value, text)
        if match["score"]:
            assert not re.search(rf"(?<![\d.]){match['score']:g}(?![\d.])", scrubbed), text
    if assessment["score"]:
        assert not re.search(rf"(?<![\d.]){assessment['score']:g}(?![\d.])", scrubbed), text
    for word in ("rule", "score", "watch", "reason", "risk", "match"):
        assert word not in text.lower(), (word, text)


def _screen_until_dnl(
    settings: Settings, producer: Producer, prefix: str, filer: str, party: dict[str, Any]
) -> str:
    """Send fresh filings naming the listed party until one is assessed DNL: the worker's
    mirror of the watch list applies a new entry within moments. Returns that filing's id."""
    deadline = time.monotonic() + 60
    attempt = 0
    while True:
        declaration_id = f"{prefix}{attempt}"
        publish(producer, [encode(_filed(declaration_id, filer, consignee=party))])
        (assessment,) = _assessments(settings, declaration_id, 1).values()
        if assessment["outcome"] == "DNL":
            return declaration_id
        assert time.monotonic() < deadline, "the watch-list entry never applied"
        attempt += 1


def test_every_outcome_gets_exactly_one_notice_of_its_kind_keyed_by_the_filer(
    settings: Settings, worker: object, producer: Producer, run_id: str, tmp_path: Path
) -> None:
    filer = f"{run_id}-FILER"
    token = run_id.split("-")[1]
    entry_id = f"{run_id}-E1"
    csv = tmp_path / "watchlist.csv"
    csv.write_text(
        WATCHLIST_HEADER + f"{entry_id},KESTREL {token} LOGISTICS,,IR,,NATIONAL,DNL,proliferation\n"
    )
    assert "loaded 1, skipped 0" in _screening(settings, "watchlist", "load", str(csv))
    try:
        dnl_id = _screen_until_dnl(
            settings, producer, f"{run_id}-DNL-", filer, {"name": f"Kestrel {token} Logistics"}
        )
        filings = {
            "ASSESSMENT_COMPLETE": _filed(f"{run_id}-CLEAN", filer),
            "RFI": _filed(f"{run_id}-RFI", filer, goods=[{"description": "GENERAL CARGO"}]),
            "HRCM": _filed(f"{run_id}-HRCM", filer, goods=[{"hs_code": ARMS}]),
        }
        publish(producer, [encode(d) for d in filings.values()])
        # The DNL attempts before the entry applied got their notices too, one each.
        attempts = int(dnl_id.rsplit("-", 1)[1]) + 1
        assessments = _assessments(settings, run_id, 3 + attempts)
        notices = _notices(settings, filer, 3 + attempts)
    finally:
        _screening(settings, "watchlist", "delete", entry_id)

    expected = {d["declaration_id"]: outcome for outcome, d in filings.items()}
    expected[dnl_id] = "DNL"
    per_declaration: dict[str, list[dict[str, Any]]] = {}
    for notice in notices:
        per_declaration.setdefault(notice["declaration_id"], []).append(notice)
    for declaration_id, outcome in expected.items():
        assert assessments[(declaration_id, 1)]["outcome"] == outcome
        [notice] = per_declaration[declaration_id]  # exactly one
        assert notice["kind"] == outcome
        assert notice["version"] == 1
        assert notice["notice_id"] == notice_id(declaration_id, 1, outcome)
        assert notice["issued_at"] == assessments[(declaration_id, 1)]["assessed_at"]
    assert len(notices) == len(per_declaration) == 3 + attempts
    # Whatever the assessment found, the notice does not say it.
    dnl = assessments[(dnl_id, 1)]
    entries = [m["evidence"].get("consignee.watchlist_entry") for m in dnl["matches"]]
    assert entry_id in entries
    for notice in notices:
        _says_nothing_of(notice, assessments[(notice["declaration_id"], notice["version"])])
        assert entry_id not in notice["text"]


def test_an_amendment_to_harmless_goods_withdraws_the_referral_and_completes(
    settings: Settings, worker: object, producer: Producer, run_id: str
) -> None:
    filer = f"{run_id}-FILER"
    referred = _filed(f"{run_id}-AMENDED", filer, goods=[{"hs_code": ARMS}])
    publish(producer, [encode(referred), encode(amendment(referred, 2, "940360"))])
    notices = _notices(settings, filer, 3)
    declaration_id = referred["declaration_id"]
    assert [(n["kind"], n["version"]) for n in notices] == [
        ("HRCM", 1),
        ("REFERRAL_CLOSED", 1),
        ("ASSESSMENT_COMPLETE", 2),
    ]
    assert all(n["declaration_id"] == declaration_id for n in notices)
    assert notices[1]["text"].startswith(
        f"The request to screen the consignment on declaration {declaration_id} version 1 is "
        "withdrawn; no action is needed for it."
    )
    assert "may be loaded" in notices[2]["text"]


def test_a_malformed_filing_naming_a_filer_gets_a_rejected_notice_with_paths(
    settings: Settings, worker: object, producer: Producer, run_id: str
) -> None:
    filer = f"{run_id}-FILER"
    bad = _filed(
        f"{run_id}-BAD",
        filer,
        goods=[{"hs_code": "93"}, {"hs_code": "940360", "origin_country": "cn"}],
    )
    unreadable = f"{run_id}-UNREADABLE"
    publish(
        producer,
        [
            encode(bad),
            # Not JSON: nobody to tell, though the bytes name a filer.
            (unreadable.encode(), f'{{"filer_id": "{unreadable}", "version": '.encode()),
        ],
    )
    [notice] = _notices(settings, filer, 1)
    assert notice["kind"] == "REJECTED"
    assert (notice["declaration_id"], notice["version"]) == (bad["declaration_id"], 1)
    assert notice["errors"] == [
        {"path": "$.goods[0].hs_code", "message": "must be 6 to 10 digits"},
        {
            "path": "$.goods[1].origin_country",
            "message": "must be a country code of two capital letters (ISO 3166-1), like DE",
        },
    ]
    assert "was rejected and not screened" in notice["text"]
    assert _notices(settings, unreadable, 0) == []
    dead = collect(settings, topics.DLQ, key_prefix(run_id), expected=2)
    assert len(dead) == 2
