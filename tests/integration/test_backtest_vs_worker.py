"""The offline backtest decides as the worker does: the same file, rules and reference data
through both give the same outcome, score and rules per declaration version, the same hits."""

from __future__ import annotations

import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from pipeline import topics
from pipeline.rules.loader import load_ruleset
from pipeline.samples.generator import GeneratorConfig
from pipeline.samples.record import record
from pipeline.settings import Settings
from tests.factories import encode, filing
from tests.integration.conftest import ROOT, collect, key_prefix, publish

pytestmark = pytest.mark.integration

RULES = ROOT / "rules"
WATCHLIST_HEADER = "entry_id,name,aliases,country,ids,list,action,reason\n"
MESSAGES = 1500


def _screening(settings: Settings, *args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args, "--bootstrap", settings.kafka.servers],
        capture_output=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stderr.decode()


def _backtest(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "rules", "backtest", *args],
        capture_output=True,
        timeout=300,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "SCREENING_RANDOM_SELECTION_SHARE": "0"},
    )
    assert done.returncode == 0, done.stderr.decode()


def _first_filing(path: Path) -> dict[str, Any]:
    for line in path.read_bytes().splitlines():
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(document, dict) and document.get("message_type") == "FILING":
            return dict(document)
    raise AssertionError("no filing in the generated file")


def _wait_for_reference(
    settings: Settings,
    producer: Producer,
    run_id: str,
    ruleset_version: str,
    party: dict[str, Any],
) -> None:
    """Probe until the worker screens with the published rules and the loaded records."""
    deadline = time.monotonic() + 60
    for attempt in range(1000):
        probe = filing(f"{run_id}-PROBE{attempt}")
        probe["consignee"] = party
        publish(producer, [encode(probe)])
        found = collect(settings, topics.ASSESSMENTS, key_prefix(probe["declaration_id"]), 1)
        assessment = orjson.loads(found[0].value) if found else {}
        consignee = next((p for p in assessment.get("parties", []) if p["role"] == "consignee"), {})
        if (
            assessment.get("ruleset_version") == ruleset_version
            and "WL-HRCM" in {m["rule_id"] for m in assessment.get("matches", [])}
            and consignee.get("status") not in (None, "NONE", "UNVERIFIED")
        ):
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    pytest.fail("the worker did not take up the rules and reference data within 60 s")


def test_backtest_gives_what_the_worker_gave(
    settings: Settings, worker: object, producer: Producer, run_id: str, tmp_path: Path
) -> None:
    recorded, aeo = tmp_path / "recorded.jsonl", tmp_path / "aeo.csv"
    config = GeneratorConfig(
        seed=zlib.crc32(run_id.encode()),
        risky_share=0.3,
        malformed_share=0.02,
        amendment_share=0.2,
        invalidation_share=0.05,
    )
    record(recorded, MESSAGES, config, aeo)
    sample = _first_filing(recorded)
    prefix = sample["declaration_id"].rsplit("-", 1)[0] + "-"
    # Watch-list the first filing's consignee: every filing of that company is a WL hit.
    listed_name = sample["consignee"]["name"]
    watchlist = tmp_path / "watchlist.csv"
    watchlist.write_text(
        WATCHLIST_HEADER + f'{run_id}-E1,"{listed_name}",,,,NATIONAL,HRCM,test target\n'
    )
    aeo_rows = aeo.read_text().splitlines()[1:]
    operator_id, scheme = aeo_rows[0].split(",")[:2]

    expected_version = load_ruleset(RULES).version
    _screening(settings, "rules", "publish", str(RULES))
    _screening(settings, "aeo", "load", str(aeo))
    _screening(settings, "watchlist", "load", str(watchlist))
    try:
        claimant = {"name": listed_name, "ids": [{"scheme": scheme, "value": operator_id}]}
        _wait_for_reference(settings, producer, run_id, expected_version, claimant)

        _screening(settings, "send", str(recorded))
        offline, report_path = tmp_path / "offline.jsonl", tmp_path / "report.json"
        _backtest(
            str(recorded),
            "--rules",
            str(RULES),
            "--aeo",
            str(aeo),
            "--watchlist",
            str(watchlist),
            "--assessments-out",
            str(offline),
            "--json-out",
            str(report_path),
            "--no-progress",
        )
        expected = [orjson.loads(line) for line in offline.read_bytes().splitlines()]
        report = orjson.loads(report_path.read_bytes())

        records = collect(
            settings, topics.ASSESSMENTS, key_prefix(prefix), len(expected), timeout_s=120
        )
        produced = [orjson.loads(r.value) for r in records]
        assert len(produced) == len(expected)
        assert {a["ruleset_version"] for a in produced} == {expected_version}

        def key(a: dict[str, Any]) -> tuple[str, int]:
            return a["declaration_id"], a["version"]

        by_worker = {
            key(a): {
                "declaration_id": a["declaration_id"],
                "version": a["version"],
                "outcome": a["outcome"],
                "score": a["score"],
                "rules": sorted(m["rule_id"] for m in a["matches"]),
                "shadow_rules": sorted(m["rule_id"] for m in a["shadow_matches"]),
                "superseded_by": a.get("superseded_by"),
            }
            for a in produced
        }
        by_backtest = {key(v): v for v in expected}
        differing = [k for k in by_backtest if by_backtest[k] != by_worker.get(k)]
        assert differing == [], [(by_backtest[k], by_worker.get(k)) for k in differing[:3]]

        # Not a trivial agreement: the file exercises referrals, the watch list and AEOs.
        outcomes = {v["outcome"] for v in expected}
        assert {"ASSESSMENT_COMPLETE", "RFI", "HRCM", "INVALIDATED"} <= outcomes
        matched = {rule for v in expected for rule in v["rules"]}
        assert "WL-HRCM" in matched
        assert "AEO-SUSPENDED-REVOKED" in matched

        hits = collect(
            settings, topics.HITS, key_prefix(prefix), report["rules"]["hits"], timeout_s=60
        )
        assert sum(r.value is not None for r in hits) == report["rules"]["hits"]
        latest: dict[bytes, bytes | None] = {}
        for hit in hits:
            assert hit.key is not None
            latest[hit.key] = hit.value
        still_open = sum(value is not None for value in latest.values())
        assert still_open == report["rules"]["open_referrals"]
    finally:
        _screening(settings, "watchlist", "delete", f"{run_id}-E1")
        _screening(settings, "aeo", "delete", *(row.split(",")[0] for row in aeo_rows))
