"""The Customs-to-Customs demo's feed (``make c2c-demo``): one consignment seen by two
administrations.

The first administration (cluster alias ``eu``, the Netherlands) screens the import filing of a
consignment loaded in Ningbo for Rotterdam, whose consignee is on the sample watch list as do
not load. Its worker sends the finding to China under their agreement; MirrorMaker 2 copies it
to the second administration's cluster as ``eu.customs.c2c.outbound.v1``. The second
administration (alias ``cn``) then screens its own export filing of the same consignment (the
same UCR), which by itself is clean, and refers it because of the partner's finding.

``python -m pipeline.samples.c2c_demo --first 127.0.0.1:9092 --second 127.0.0.1:9192``
prints both assessments and the partner message between them; exit 1 when a step does not
happen in time.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from confluent_kafka import Producer

from pipeline import topics
from pipeline.errors import TopicMissing
from pipeline.kafka.reader import TopicReader
from pipeline.records import InputRecord
from pipeline.rules.cases import BASE_DECLARATION
from pipeline.settings import KafkaSettings, Settings

# A do-not-load entry of deploy/sample-data/watchlist.csv.
LISTED_CONSIGNEE = "BANK SADERAT PLC"
WAIT_S = 120.0


def filings(ucr: str, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The import filing in the first administration and the export filing in the second."""
    stamp = now.strftime("%Y%m%d%H%M%S")
    times = {
        "submitted_at": _iso(now),
        "loading": _iso(now + timedelta(days=3)),
        "arrival": _iso(now + timedelta(days=34)),
    }
    first = copy.deepcopy(BASE_DECLARATION)
    first.update(declaration_id=f"NL-IMP-{stamp}", ucr=ucr, submitted_at=times["submitted_at"])
    first["consignee"] = {
        "name": LISTED_CONSIGNEE,
        "address": {"street": "5 Lothbury", "city": "London", "country": "GB"},
    }
    first["transport"] = {
        **first["transport"],
        "discharge_location": "NLRTM",
        "routing_countries": ["CN", "NL"],
        "estimated_loading_at": times["loading"],
        "estimated_arrival_at": times["arrival"],
    }
    second = copy.deepcopy(BASE_DECLARATION)
    second.update(declaration_id=f"CN-EXP-{stamp}", ucr=ucr, submitted_at=times["submitted_at"])
    second["transport"] = {
        **second["transport"],
        "discharge_location": "NLRTM",
        "routing_countries": ["CN", "NL"],
        "estimated_loading_at": times["loading"],
        "estimated_arrival_at": times["arrival"],
    }
    second["consignee"] = {
        "name": "ROTTERDAM HOME TRADING BV",
        "address": {"street": "Waalhaven 1", "city": "Rotterdam", "country": "NL"},
    }
    return first, second


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _send(bootstrap: str, document: dict[str, Any]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    producer.produce(
        topics.DECLARATIONS, key=document["declaration_id"].encode(), value=orjson.dumps(document)
    )
    if producer.flush(30) != 0:
        raise RuntimeError(f"could not publish to {bootstrap}")


def first_record(
    kafka: KafkaSettings,
    topic: str,
    wanted: Callable[[InputRecord], bool],
    timeout_s: float = WAIT_S,
) -> InputRecord | None:
    """The first record of ``topic`` that ``wanted`` accepts, read from the start; None when
    none comes within ``timeout_s``. A topic that does not exist yet is waited for: a partner's
    exists once MirrorMaker 2 has copied into it."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            reader = TopicReader(kafka, topic)
            break
        except TopicMissing:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.5)
    try:
        while time.monotonic() < deadline:
            for record in reader.poll(0.5):
                if wanted(record):
                    return record
    finally:
        reader.close()
    return None


def keyed(key: str) -> Callable[[InputRecord], bool]:
    return lambda record: record.key == key.encode() and record.value is not None


def _first(bootstrap: str, topic: str, wanted: Callable[[InputRecord], bool]) -> InputRecord | None:
    return first_record(Settings(kafka_bootstrap=bootstrap).kafka, topic, wanted)


def _show(title: str, assessment: dict[str, Any]) -> None:
    print(f"\n{title}: {assessment['declaration_id']} -> {assessment['outcome']}")
    for match in assessment["matches"]:
        print(f"  {match['rule_id']} ({match['action']}, {match['score']:g}): {match['reason']}")


def run(first_bootstrap: str, second_bootstrap: str, first_alias: str) -> int:
    now = datetime.now(UTC)
    ucr = f"6NL{now.strftime('%y%m%d%H%M%S')}DEMO"
    first, second = filings(ucr, now)
    print(f"consignment {ucr}: Ningbo to Rotterdam, consignee {LISTED_CONSIGNEE}")

    _send(first_bootstrap, first)
    found = _first(first_bootstrap, topics.ASSESSMENTS, keyed(first["declaration_id"]))
    if found is None or found.value is None:
        print("the first administration did not assess its filing in time", file=sys.stderr)
        return 1
    _show("first administration (eu), import filing", orjson.loads(found.value))

    inbound = topics.partner_inbound_topic(first_alias)
    finding = _first(second_bootstrap, inbound, keyed(ucr))
    if finding is None or finding.value is None:
        print(f"no finding for {ucr} reached {inbound} in time", file=sys.stderr)
        return 1
    message = orjson.loads(finding.value)
    print(f"\nreplicated by MirrorMaker 2 to the second administration's {inbound}:")
    print("  " + orjson.dumps(message, option=orjson.OPT_INDENT_2).decode().replace("\n", "\n  "))

    _send(second_bootstrap, second)
    found = _first(second_bootstrap, topics.ASSESSMENTS, keyed(second["declaration_id"]))
    if found is None or found.value is None:
        print("the second administration did not assess its filing in time", file=sys.stderr)
        return 1
    assessment = orjson.loads(found.value)
    _show("second administration (cn), export filing of the same consignment", assessment)
    return 0 if assessment["outcome"] in ("HRCM", "DNL") else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", default="127.0.0.1:9092", help="first cluster (alias eu)")
    parser.add_argument("--second", default="127.0.0.1:9192", help="second cluster (alias cn)")
    parser.add_argument("--first-alias", default="eu")
    args = parser.parse_args(argv)
    return run(args.first, args.second, args.first_alias)


if __name__ == "__main__":
    sys.exit(main())
