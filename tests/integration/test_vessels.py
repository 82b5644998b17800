"""Vessels (contract v1.1) through the real broker: a watch-list entry with an IMO id, loaded by
the CLI and mirrored by the worker, gives a sea filing on that vessel the entry's action; an
IMO number with a wrong check digit is a request for information, not a rejection."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from pipeline import topics
from pipeline.settings import Settings
from tests.factories import encode, filing
from tests.integration.conftest import ROOT, collect, key_prefix, publish

pytestmark = pytest.mark.integration

WATCHLIST_HEADER = "entry_id,name,aliases,country,ids,list,action,reason\n"


def _screening(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args, "--bootstrap", settings.kafka.servers],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stderr.decode()


def _imo(seed: int) -> str:
    """A valid IMO number: six digits from the seed and their check digit."""
    first = f"{9_000_000 // 10 + seed % 100_000:06d}"
    check = sum(int(d) * w for d, w in zip(first, range(7, 1, -1), strict=True)) % 10
    return f"{first}{check}"


def _assess(
    settings: Settings, producer: Producer, declaration_id: str, vessel: dict[str, Any]
) -> dict[str, Any]:
    document = filing(declaration_id)
    document["transport"] = {**document["transport"], "vessel": vessel}
    publish(producer, [encode(document)])
    found = collect(settings, topics.ASSESSMENTS, key_prefix(declaration_id), expected=1)
    assert len(found) == 1
    return dict(orjson.loads(found[0].value))


def _match(assessment: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(m for m in assessment["matches"] if m["rule_id"] == rule_id)


def test_a_listed_vessel_gets_its_entrys_action_and_a_bad_imo_an_rfi(
    settings: Settings, worker: object, producer: Producer, run_id: str, tmp_path: Path
) -> None:
    imo = _imo(abs(hash(run_id)))
    csv = tmp_path / "watchlist.csv"
    csv.write_text(
        WATCHLIST_HEADER
        + f"{run_id}-V1,SHADOW {run_id} TANKER,,KP,IMO:IMO {imo},NATIONAL,DNL,sanctions evasion\n"
    )
    assert "loaded 1, skipped 0" in _screening(settings, "watchlist", "load", str(csv))

    vessel = {"name": f"SHADOW {run_id}", "imo": imo, "flag": "PA"}
    deadline = time.monotonic() + 30
    attempt = 0
    while True:  # the worker's mirror applies the entry within moments
        listed = _assess(settings, producer, f"{run_id}-L{attempt}", vessel)
        if listed["outcome"] == "DNL" or time.monotonic() > deadline:
            break
        attempt += 1
        time.sleep(0.5)
    assert listed["outcome"] == "DNL"
    match = _match(listed, "WL-VESSEL-DNL")
    assert match["evidence"]["transport.vessel.watchlist_entry"] == f"{run_id}-V1"
    assert match["evidence"]["transport.vessel.watchlist_list"] == "NATIONAL"
    assert f"{run_id}-V1" in match["reason"]
    assert f"SHADOW {run_id}" in match["reason"]
    assert "VESSEL-IMO-CHECK-DIGIT" not in {m["rule_id"] for m in listed["matches"]}

    # The same ship written with its "IMO" prefix is the same ship.
    prefixed = _assess(settings, producer, f"{run_id}-P", {**vessel, "imo": f"IMO {imo}"})
    assert prefixed["outcome"] == "DNL"

    wrong = f"{imo[:6]}{(int(imo[6]) + 1) % 10}"
    checked = _assess(settings, producer, f"{run_id}-C", {**vessel, "imo": wrong})
    assert checked["outcome"] == "RFI"
    rule_ids = {m["rule_id"] for m in checked["matches"]}
    assert "VESSEL-IMO-CHECK-DIGIT" in rule_ids
    assert not any(r.startswith("WL-VESSEL") for r in rule_ids)
    assert wrong in _match(checked, "VESSEL-IMO-CHECK-DIGIT")["reason"]

    unnumbered = _assess(settings, producer, f"{run_id}-N", {"name": vessel["name"], "flag": "PA"})
    assert unnumbered["outcome"] == "ASSESSMENT_COMPLETE"
