"""`screening report safe` through a real broker: hand-made assessments, examination results
and partner messages (ours and a partner's replicated topic) give exactly the measures they
imply for the period, decided by the records' dates, not by when Kafka received them.

The test runs on a broker of its own, so that every record on it is this test's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic

from pipeline import topics
from pipeline.kafka.admin import admin_client
from pipeline.kafka.producer import producer_config
from pipeline.records import InputRecord
from pipeline.rules.evaluator import RANDOM_RULE_ID
from pipeline.settings import Settings
from tests.integration.conftest import ROOT
from tests.integration.faults import own_broker
from tests.unit.feedback.test_safe import assessment, examination, message

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC).date()
START, END = TODAY - timedelta(days=3), TODAY - timedelta(days=1)
IN = f"{TODAY - timedelta(days=2)}T12:00:00Z"
BEFORE = f"{START - timedelta(days=1)}T23:59:59Z"
AFTER = f"{TODAY}T00:00:01Z"
NL_TOPIC = topics.partner_inbound_topic("nl")
DE_TOPIC = topics.partner_inbound_topic("de")  # exists, empty
OTHER_TOPIC = f"nl.{topics.DECLARATIONS}"  # replicated from a partner, not its messages


def records() -> list[InputRecord]:
    return [
        assessment("C1", "ASSESSMENT_COMPLETE", assessed_at=IN),
        assessment("C2", "ASSESSMENT_COMPLETE", assessed_at=IN),
        assessment("C2", "ASSESSMENT_COMPLETE", assessed_at=IN),  # redelivered
        assessment("C1", "INVALIDATED", version=2, assessed_at=IN),
        assessment("R1", "RFI", "HS-VAGUE", assessed_at=IN),
        assessment("H1", "HRCM", "HS-ARMS-93", assessed_at=IN),
        assessment("H2", "HRCM", "HS-ARMS-93", assessed_at=IN),
        assessment("D1", "DNL", "WATCHLIST", assessed_at=IN),
        assessment("X1", "RFI", RANDOM_RULE_ID, assessed_at=IN),
        assessment("X2", "RFI", RANDOM_RULE_ID, assessed_at=IN),
        assessment("OLD", "HRCM", "HS-ARMS-93", assessed_at=BEFORE),
        assessment("NEW", "DNL", "WATCHLIST", assessed_at=AFTER),
        examination("H1", "SEIZURE"),
        examination("H1", "SEIZURE"),  # redelivered
        examination("H2", "NO_FINDING"),
        examination("D1", "NOT_EXAMINED"),
        examination("X1", "IRREGULARITY"),
        examination("X2", "NO_FINDING"),
        examination("C1", "NO_FINDING"),
        examination("OLD", "SEIZURE"),  # its version was assessed before the period
        message(topics.C2C_OUTBOUND, "m1", "RISK_FINDING", "GB", "NL", IN),
        message(topics.C2C_OUTBOUND, "m1", "RISK_FINDING", "GB", "NL", IN),  # replayed
        message(topics.C2C_OUTBOUND, "m2", "EXAMINATION_REQUEST", "GB", "US", IN),
        message(topics.C2C_OUTBOUND, "m3", "RISK_FINDING", "GB", "NL", AFTER),
        message(NL_TOPIC, "n1", "EXAMINATION_RESULT", "NL", "GB", IN),
        message(NL_TOPIC, "n2", "RISK_FINDING", "NL", "GB", IN),
        InputRecord(NL_TOPIC, b"x", b"{not json", 0, 0),
        # A replicated topic of another kind: not a partner's messages.
        InputRecord(OTHER_TOPIC, b"x", b"{}", 0, 0),
    ]


def create_topics(settings: Settings, names: list[str]) -> None:
    admin = admin_client(settings.kafka)
    futures = admin.create_topics([NewTopic(name, num_partitions=2) for name in names])
    for future in futures.values():
        future.result(timeout=30)


def screening(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args, "--bootstrap", settings.kafka.servers],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_the_safe_report_counts_the_period_from_kafka(tmp_path: Path) -> None:
    with own_broker(tmp_path) as (_broker, settings):
        sent = records()
        create_topics(settings, sorted({r.topic for r in sent} - {t.name for t in topics.TOPICS}))
        create_topics(settings, [DE_TOPIC])
        producer = Producer(producer_config(settings.kafka))
        for record in sent:
            producer.produce(record.topic, record.value, record.key)
        assert producer.flush(30) == 0

        period = ["--from", START.isoformat(), "--to", END.isoformat()]
        done = screening(settings, "report", "safe", *period, "--json")
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""  # within retention: no warning
        assert orjson.loads(done.stdout) == expected()

        table = screening(settings, "report", "safe", *period)
        assert table.returncode == 0, table.stderr
        assert "│ screened (invalidations apart) │     8 │       │" in table.stdout
        assert f"Partner topics read: {DE_TOPIC}, {NL_TOPIC}" in table.stdout

        refused = screening(
            settings, "report", "safe", "--from", END.isoformat(), "--to", str(START)
        )
        assert refused.returncode == 2
        assert refused.stderr.count("\n") == 1
        assert "is after --to" in refused.stderr


def expected() -> dict[str, Any]:
    none = {"RISK_FINDING": 0, "EXAMINATION_REQUEST": 0, "EXAMINATION_RESULT": 0, "total": 0}
    return {
        "period": {"from": START.isoformat(), "to": END.isoformat()},
        "retention_days": 30,
        "warnings": [],
        "filings": {
            "screened": 8,  # C1, C2, R1, H1, H2, D1, X1, X2
            "referred": 6,
            "referred_share": 0.75,
            "by_outcome": {
                "RFI": {"count": 3, "share": 0.375},
                "HRCM": {"count": 2, "share": 0.25},
                "DNL": {"count": 1, "share": 0.125},
            },
        },
        "examinations": {
            "all": {
                "consignments": 6,
                "examined": 5,
                "results": {"SEIZURE": 1, "IRREGULARITY": 1, "NO_FINDING": 3, "NOT_EXAMINED": 1},
                "findings": 2,
                "hit_rate": 0.4,
            },
            "high_risk": {
                "consignments": 3,
                "examined": 2,
                "results": {"SEIZURE": 1, "IRREGULARITY": 0, "NO_FINDING": 1, "NOT_EXAMINED": 1},
                "findings": 1,
                "hit_rate": 0.5,
            },
            "random": {
                "consignments": 2,
                "examined": 2,
                "results": {"SEIZURE": 0, "IRREGULARITY": 1, "NO_FINDING": 1, "NOT_EXAMINED": 0},
                "findings": 1,
                "hit_rate": 0.5,
            },
            "not_in_period": 1,
        },
        "partners": [
            {
                "partner": "NL",
                "sent": {**none, "RISK_FINDING": 1, "total": 1},
                "received": {
                    **none,
                    "RISK_FINDING": 1,
                    "EXAMINATION_RESULT": 1,
                    "total": 2,
                },
            },
            {
                "partner": "US",
                "sent": {**none, "EXAMINATION_REQUEST": 1, "total": 1},
                "received": none,
            },
        ],
        "partner_topics": [DE_TOPIC, NL_TOPIC],
        "unreadable": {"assessments": 0, "examination_results": 0, "partner_messages": 1},
    }
