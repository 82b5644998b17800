"""A false watch-list match cleared through the real broker: the clearance published on its
compacted topic is mirrored by the worker, which stops referring that party for that entry
(and only that one), and refers it again once the clearance is lifted. The hits carry the
declaration as filed."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from confluent_kafka import Producer

from pipeline import topics
from pipeline.contract.models import Party
from pipeline.kafka.producer import producer_config
from pipeline.records import InputRecord
from pipeline.reference.clearances import WatchlistClearance, clearance_key, encode, party_key
from pipeline.settings import Settings
from tests.factories import encode as encode_declaration
from tests.factories import filing
from tests.integration.conftest import ROOT, collect, publish

pytestmark = pytest.mark.integration

WATCHLIST_HEADER = "entry_id,name,aliases,country,ids,list,action,reason\n"
LAST_DAY = date(2026, 11, 30)  # the filings of the factories are submitted on 20 November
APPLY_WITHIN_S = 30.0


def _load_watchlist(settings: Settings, csv: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "watchlist",
            "load",
            str(csv),
            "--bootstrap",
            settings.kafka.servers,
        ],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert "skipped 0" in done.stderr.decode()


def _exactly(declaration_id: str) -> Callable[[InputRecord], bool]:
    key = declaration_id.encode()
    return lambda record: record.key == key


def _file(
    settings: Settings, producer: Producer, declaration_id: str, **changes: Any
) -> dict[str, Any]:
    """File a declaration and return its assessment, with the filed document under
    ``"filed"``."""
    document = filing(declaration_id)
    document.update(changes)
    publish(producer, [encode_declaration(document)])
    found = collect(
        settings, topics.ASSESSMENTS, _exactly(declaration_id), expected=1, settle_s=0.5
    )
    assert len(found) == 1
    assert found[0].value is not None
    return {**orjson.loads(found[0].value), "filed": document}


def _file_until(
    settings: Settings,
    producer: Producer,
    prefix: str,
    done: Callable[[dict[str, Any]], bool],
    **changes: Any,
) -> dict[str, Any]:
    """File fresh declarations until one shows the change (mirrors apply within moments)."""
    deadline = time.monotonic() + APPLY_WITHIN_S
    attempt = 0
    while True:
        assessment = _file(settings, producer, f"{prefix}-{attempt}", **changes)
        if done(assessment) or time.monotonic() > deadline:
            return assessment
        attempt += 1
        time.sleep(0.5)


def _the_hit(settings: Settings, declaration_id: str) -> dict[str, Any]:
    found = collect(settings, topics.HITS, _exactly(declaration_id), expected=1, settle_s=0.5)
    assert len(found) == 1, f"{len(found)} hits for {declaration_id}"
    assert found[0].value is not None
    return dict(orjson.loads(found[0].value))


def _consignee_entries(document: dict[str, Any]) -> set[str]:
    """The watch-list entries the consignee was referred for, per the matches' evidence."""
    return {
        m["evidence"]["consignee.watchlist_entry"]
        for m in document["matches"]
        if m["rule_id"].startswith("WL-") and "consignee.watchlist_entry" in m["evidence"]
    }


def _publish_clearance(
    settings: Settings, party: Party, entry_id: str, value: bytes | None
) -> None:
    """As the workbench publishes it: keyed by party key and entry; None lifts it."""
    producer = Producer(producer_config(settings.kafka))
    producer.produce(topics.WATCHLIST_CLEARANCES, value, clearance_key(party_key(party), entry_id))
    assert producer.flush(30) == 0


def test_a_cleared_false_match_is_not_referred_until_the_clearance_is_lifted(
    settings: Settings, worker: object, producer: Producer, run_id: str, tmp_path: Path
) -> None:
    token = run_id.split("-")[1]
    named, by_tin = f"{run_id}-E1", f"{run_id}-E2"
    csv = tmp_path / "watchlist.csv"
    csv.write_text(
        WATCHLIST_HEADER
        + f"{named},KESTREL {token} LOGISTICS,,IR,,OFAC,DNL,sanctions\n"
        + f"{by_tin},ORION {token} HOLDINGS,,AE,TIN:TX{token},NATIONAL,HRCM,previous seizure\n"
    )
    _load_watchlist(settings, csv)
    consignee = {
        "name": f"Kestrel {token} Logistics LLC",
        "ids": [{"scheme": "TIN", "value": f"TX{token}"}],
        "address": {"street": "Jebel Ali Free Zone", "city": "Dubai", "country": "AE"},
    }
    party = msgspec.convert(consignee, Party)

    # 1. The party matches both entries; the DNL one is the worst and refers it.
    before = _file_until(
        settings,
        producer,
        f"{run_id}-BEFORE",
        lambda a: named in _consignee_entries(a),
        consignee=consignee,
    )
    assert before["outcome"] == "DNL"
    assert _consignee_entries(before) == {named}
    hit = _the_hit(settings, before["declaration_id"])
    assert _consignee_entries(hit) == {named}
    assert hit["declaration"] == before["filed"]  # the hit carries the filing, as filed

    # 2. An officer clears the match of that party with that entry.
    clearance = WatchlistClearance(
        party_key=party_key(party),
        entry_id=named,
        expires_on=LAST_DAY,
        cleared_at=datetime.now(UTC),
        clearance_id=f"CLR-{run_id}",
    )
    _publish_clearance(settings, party, named, encode(clearance))
    cleared = _file_until(
        settings,
        producer,
        f"{run_id}-CLEARED",
        lambda a: named not in _consignee_entries(a),
        consignee=consignee,
    )
    # Not referred for the cleared entry; still referred for the other one it matches.
    assert _consignee_entries(cleared) == {by_tin}
    assert cleared["outcome"] == "HRCM"
    hit = _the_hit(settings, cleared["declaration_id"])
    assert _consignee_entries(hit) == {by_tin}
    assert named not in orjson.dumps(hit["matches"]).decode()
    assert hit["declaration"] == cleared["filed"]

    # Another party of the same name (another country, no identifier) still matches it.
    namesake = _file(
        settings,
        producer,
        f"{run_id}-NAMESAKE",
        consignee={"name": f"Kestrel {token} Logistics", "address": {"country": "DE"}},
    )
    assert _consignee_entries(namesake) == {named}
    # The party itself, filing after the clearance's last day, matches it again.
    later = _file(
        settings,
        producer,
        f"{run_id}-LATER",
        consignee=consignee,
        submitted_at="2026-12-01T08:00:00.000Z",
    )
    assert _consignee_entries(later) == {named}

    # 3. The clearance is lifted (a tombstone): the party is referred for the entry again.
    _publish_clearance(settings, party, named, None)
    lifted = _file_until(
        settings,
        producer,
        f"{run_id}-LIFTED",
        lambda a: named in _consignee_entries(a),
        consignee=consignee,
    )
    assert _consignee_entries(lifted) == {named}
    assert lifted["outcome"] == "DNL"
    assert _consignee_entries(_the_hit(settings, lifted["declaration_id"])) == {named}
