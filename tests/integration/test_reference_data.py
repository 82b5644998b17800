"""AEO registry and watch lists through the real broker: loaded by the CLI, mirrored by the
worker, applied to declarations, updated and deleted while it runs, rebuilt after a restart."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from pipeline import topics
from pipeline.kafka.reader import read_compacted
from pipeline.settings import Settings
from tests.factories import encode, filing
from tests.integration.conftest import ROOT, collect, key_prefix, publish

pytestmark = pytest.mark.integration

AEO_HEADER = "operator_id,scheme,name,country,aeo_type,status,valid_from,valid_to,mra_partner\n"
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


def _assess(
    settings: Settings, producer: Producer, declaration_id: str, **parties: Any
) -> dict[str, Any]:
    document = filing(declaration_id)
    for role, party in parties.items():
        document[role] = {**document[role], **party}
    publish(producer, [encode(document)])
    found = collect(settings, topics.ASSESSMENTS, key_prefix(declaration_id), expected=1)
    assert len(found) == 1
    return dict(orjson.loads(found[0].value))


def _assess_until(
    settings: Settings,
    producer: Producer,
    prefix: str,
    done: Any,
    **parties: Any,
) -> dict[str, Any]:
    """Screen fresh declarations until one shows the change (mirrors apply within moments)."""
    deadline = time.monotonic() + 30
    attempt = 0
    while True:
        assessment = _assess(settings, producer, f"{prefix}{attempt}", **parties)
        if done(assessment) or time.monotonic() > deadline:
            return assessment
        attempt += 1
        time.sleep(0.5)


def _party(assessment: dict[str, Any], role: str) -> dict[str, Any]:
    return next(p for p in assessment["parties"] if p["role"] == role)


def _match(assessment: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(m for m in assessment["matches"] if m["rule_id"] == rule_id)


def test_aeo_status_follows_the_registry_while_the_worker_runs(
    settings: Settings, worker: object, producer: Producer, run_id: str, tmp_path: Path
) -> None:
    operator = f"DEAEOF{abs(hash(run_id)) % 10**10:010d}"
    csv = tmp_path / "aeo.csv"
    csv.write_text(
        AEO_HEADER + f"{operator},AEO,MUSTER {run_id} GMBH,DE,AEOF,ACTIVE,2020-01-01,,\n"
    )
    assert "loaded 1, skipped 0" in _screening(settings, "aeo", "load", str(csv))
    claimant = {"ids": [{"scheme": "AEO", "value": operator}]}

    active = _assess_until(
        settings,
        producer,
        f"{run_id}-A1-",
        lambda a: _party(a, "consignee")["status"] == "ACTIVE",
        consignee=claimant,
    )
    assert _party(active, "consignee") == {
        "role": "consignee",
        "operator_id": operator,
        "aeo_type": "AEOF",
        "status": "ACTIVE",
        "source": "REGISTRY",
    }

    csv.write_text(
        AEO_HEADER + f"{operator},AEO,MUSTER {run_id} GMBH,DE,AEOF,SUSPENDED,2020-01-01,,\n"
    )
    _screening(settings, "aeo", "load", str(csv))
    suspended = _assess_until(
        settings,
        producer,
        f"{run_id}-A2-",
        lambda a: _party(a, "consignee")["status"] != "ACTIVE",
        consignee=claimant,
    )
    assert _party(suspended, "consignee")["status"] == "SUSPENDED"
    assert "AEO-SUSPENDED-REVOKED" in {m["rule_id"] for m in suspended["matches"]}

    assert "deleted 1" in _screening(settings, "aeo", "delete", operator)
    deleted = _assess_until(
        settings,
        producer,
        f"{run_id}-A3-",
        lambda a: _party(a, "consignee")["status"] != "SUSPENDED",
        consignee=claimant,
    )
    assert _party(deleted, "consignee")["status"] == "UNVERIFIED"


def test_watch_list_matches_by_id_alias_and_misspelled_name(
    settings: Settings, worker: object, producer: Producer, run_id: str, tmp_path: Path
) -> None:
    token = run_id.split("-")[1]
    csv = tmp_path / "watchlist.csv"
    csv.write_text(
        WATCHLIST_HEADER
        + f"{run_id}-E1,KESTREL {token} LOGISTICS,,IR,TIN:TX{token},NATIONAL,DNL,proliferation\n"
        + f"{run_id}-E2,ORION {token} HOLDINGS,STARLIGHT {token} TRADING,AE,,EU,HRCM,sanctions\n"
        + f"{run_id}-E3,BALTIC {token} PETROCHEMICAL SUPPLY,,RU,,OFAC,RFI,sectoral\n"
    )
    assert "loaded 3, skipped 0" in _screening(settings, "watchlist", "load", str(csv))

    by_id = _assess_until(
        settings,
        producer,
        f"{run_id}-W1-",
        lambda a: a["outcome"] == "DNL",
        consignee={"ids": [{"scheme": "TIN", "value": f"TX{token}"}]},
    )
    assert by_id["outcome"] == "DNL"
    evidence = _match(by_id, "WL-DNL")["evidence"]
    assert evidence["consignee.watchlist_entry"] == f"{run_id}-E1"
    assert evidence["consignee.watchlist_list"] == "NATIONAL"
    assert evidence["consignee.watchlist_match"] == "ID"

    by_alias = _assess(
        settings, producer, f"{run_id}-W2", consignor={"name": f"Starlight {token} Trading LLC"}
    )
    evidence = _match(by_alias, "WL-HRCM")["evidence"]
    assert evidence["consignor.watchlist_entry"] == f"{run_id}-E2"
    assert evidence["consignor.watchlist_match"] == "ALIAS"
    assert by_alias["outcome"] in ("HRCM", "DNL")

    misspelled = _assess(
        settings,
        producer,
        f"{run_id}-W3",
        consignee={"name": f"Baltik {token} Petrochemical Supply Ltd."},
    )
    evidence = _match(misspelled, "WL-RFI")["evidence"]
    assert evidence["consignee.watchlist_entry"] == f"{run_id}-E3"
    assert evidence["consignee.watchlist_match"] == "FUZZY"
    assert 92 <= evidence["consignee.watchlist_score"] < 100


def test_a_worker_started_from_nothing_rebuilds_the_same_reference_data(
    settings: Settings, worker: Path, tmp_path: Path
) -> None:
    from tests.integration.conftest import start_worker

    with start_worker(settings, tmp_path, offset_reset="latest") as fresh_log:
        fresh = _loaded_counts(fresh_log)
    assert fresh == _live_counts(settings)


def _loaded_counts(log: Path) -> tuple[int, int]:
    found = re.search(
        r"reference data loaded: (\d+) AEO records, (\d+) watch-list entries", log.read_text()
    )
    assert found, log.read_text()[-2000:]
    return int(found.group(1)), int(found.group(2))


def _live_counts(settings: Settings) -> tuple[int, int]:
    return (
        len(read_compacted(settings.kafka, topics.AEO_REGISTRY)),
        len(read_compacted(settings.kafka, topics.WATCHLIST)),
    )
