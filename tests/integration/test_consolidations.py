"""House filings of one master (contract v1.1 ``master_number``) through the real broker: a
referral on one house shows on a later house of the same master, in its assessment's evidence,
even though the two are keyed, and so partitioned, apart."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from pipeline import topics
from pipeline.settings import Settings
from tests.factories import encode, filing
from tests.integration.conftest import collect, key_prefix, publish

pytestmark = pytest.mark.integration


def _house(declaration_id: str, master: str, hs_code: str = "940360") -> dict[str, Any]:
    document = filing(declaration_id)
    document["transport_document"] = {
        "type": "HBL",
        "number": f"HB-{declaration_id}",
        "master_number": master,
    }
    document["goods"][0]["hs_code"] = hs_code
    return document


def _assess(settings: Settings, producer: Producer, document: dict[str, Any]) -> dict[str, Any]:
    publish(producer, [encode(document)])
    found = collect(settings, topics.ASSESSMENTS, key_prefix(document["declaration_id"]), 1)
    assert len(found) == 1
    return dict(orjson.loads(found[0].value))


def test_a_referral_on_one_house_shows_on_the_next_house_of_its_master(
    settings: Settings, worker: object, producer: Producer, run_id: str
) -> None:
    master = f"MEDU {run_id[-7:]}"
    arms = _assess(settings, producer, _house(f"{run_id}-H1", master, hs_code="930690"))
    assert arms["outcome"] == "HRCM"
    # Another house of an unrelated master stays as it is.
    alone = _assess(settings, producer, _house(f"{run_id}-X1", f"OTHER{run_id[-7:]}"))
    assert "CONSOL-MASTER-REFERRED" not in {m["rule_id"] for m in alone["matches"]}

    deadline = time.monotonic() + 30
    attempt = 0
    while True:  # every worker's copy of the consolidations takes the first house in moments
        # The same master written another way: spaces and case do not count.
        later = _assess(
            settings, producer, _house(f"{run_id}-H2-{attempt}", master.lower().replace(" ", ""))
        )
        linked = [m for m in later["matches"] if m["rule_id"] == "CONSOL-MASTER-REFERRED"]
        if linked or time.monotonic() > deadline:
            break
        attempt += 1
        time.sleep(0.5)
    assert linked, later["matches"]
    assert linked[0]["evidence"]["master_referred_declarations"] == f"{run_id}-H1"
    assert linked[0]["evidence"]["master_referral_outcome"] == "HRCM"
    assert f"{run_id}-H1" in linked[0]["reason"]
    assert later["outcome"] == "RFI"
