"""Examination feedback through a real broker and a real worker: the worker's join and
`screening rules effectiveness` give exactly the figures the test's examinations imply.

The test runs on a broker of its own, so that every assessment and examination result on it
is this test's, and the all-time figures can be compared exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from pipeline import metrics, topics
from pipeline.kafka.partitioning import expected_partition
from pipeline.kafka.producer import producer_config
from pipeline.settings import Settings
from tests.factories import amendment, encode, filing
from tests.integration.conftest import (
    ROOT,
    TEST_PARTITIONS,
    WorkerProcess,
    publish,
    spawn_worker,
    wait_committed,
)
from tests.integration.faults import own_broker

pytestmark = pytest.mark.integration

WAIT_S = 120.0
ARMS, EXPLOSIVES = "HS-ARMS-93", "HS-EXPLOSIVES"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def feedback_worker(tmp_path: Path) -> Iterator[tuple[Settings, WorkerProcess]]:
    with own_broker(tmp_path) as (_broker, settings):
        worker = spawn_worker(settings, tmp_path)
        try:
            yield settings, worker
        finally:
            worker.stop()


def examination(declaration_id: str, version: int, result: str) -> tuple[bytes, bytes]:
    document = {
        "declaration_id": declaration_id,
        "version": version,
        "result": result,
        "examined_at": "2026-11-21T10:00:00.000Z",
        "officer_ref": "OFFICER-7",
    }
    return declaration_id.encode(), orjson.dumps(document)


def send_examinations(producer: Producer, messages: list[tuple[bytes, bytes]]) -> None:
    for key, value in messages:
        producer.produce(topics.EXAMINATION_RESULTS, value, key)
    assert producer.flush(30) == 0


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for(port: int, reached: Callable[[Samples], bool], what: str) -> Samples:
    """Scrape until ``reached`` holds; the figures are asserted afterwards, exactly."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        samples = scrape(port)
        if reached(samples):
            return samples
        time.sleep(0.5)
    pytest.fail(f"the worker did not get to {what} within {WAIT_S} s")


def test_worker_metrics_and_the_effectiveness_command_give_the_expected_figures(
    feedback_worker: tuple[Settings, WorkerProcess], run_id: str
) -> None:
    settings, worker = feedback_worker
    producer = Producer(producer_config(settings.kafka))
    names = ("A1", "A2", "A3", "E1", "E2", "C1", "C2", "C3", "P")
    ids = {name: f"{run_id}-{name}" for name in names}
    ids["W"], ghost, elsewhere = f"{run_id}-W", f"{run_id}-GHOST", f"{run_id}-ELSEWHERE"
    withdrawn = filing(ids["W"], hs_code="930690")  # referred, then amended to clean furniture
    declarations = [
        filing(ids["A1"], hs_code="930690"),  # HS-ARMS-93: HRCM
        filing(ids["A2"], hs_code="930690"),
        filing(ids["A3"], hs_code="930690"),
        filing(ids["E1"], hs_code="360490"),  # HS-EXPLOSIVES: HRCM
        filing(ids["C1"]),  # clean
        filing(ids["C2"]),
        filing(ids["C3"]),
        filing(ids["P"], hs_code="330300"),  # HS-COUNTERFEIT-PRONE: score 10, not referred
        withdrawn,
        amendment(withdrawn, 2, "940360"),
    ]

    # An examination result before its declaration exists: held until the assessment comes.
    send_examinations(producer, [examination(ids["A1"], 1, "SEIZURE")])
    wait_for(
        worker.web_port,
        lambda s: value(s, "screening_examination_results_total", disposition="waiting") >= 1,
        "hold the early examination result",
    )
    publish(producer, [encode(d) for d in declarations])
    # Filed in another partition than its key's: screened there, joined where its examination
    # results go, by way of the workers' hand-off topic.
    key, elsewhere_filed = encode(filing(ids["E2"], hs_code="360490"))
    partition = (expected_partition(key, TEST_PARTITIONS) + 1) % TEST_PARTITIONS
    producer.produce(topics.DECLARATIONS, elsewhere_filed, key, partition=partition)
    assert producer.flush(30) == 0
    wait_for(
        worker.web_port,
        lambda s: value(s, "screening_feedback_assessments_total", disposition="joined") >= 11,
        "join eleven assessments",
    )

    # At-least-once: a declaration screened again, as after a crash, counts once.
    publish(producer, [encode(declarations[1])])
    send_examinations(
        producer,
        [
            examination(ids["A2"], 1, "NO_FINDING"),
            examination(ids["A3"], 1, "IRREGULARITY"),
            examination(ids["A3"], 1, "IRREGULARITY"),  # redelivered
            examination(ids["E1"], 1, "SEIZURE"),
            examination(ids["E2"], 1, "IRREGULARITY"),
            examination(ids["C1"], 1, "NO_FINDING"),
            examination(ids["C2"], 1, "NO_FINDING"),
            examination(ids["C3"], 1, "NOT_EXAMINED"),  # not an examination
            examination(ids["P"], 1, "IRREGULARITY"),
            examination(ids["W"], 2, "NO_FINDING"),
            examination(ghost, 1, "SEIZURE"),  # no such declaration
            examination(ids["A2"], 1, "SEIZURE"),  # contradicts the counted NO_FINDING
            (f"{run_id}-BAD".encode(), b"{not json"),
        ],
    )
    # Keyed right but written to another partition than its key's: the worker that holds the
    # declaration's assessments would never see it.
    key, misrouted = examination(elsewhere, 1, "SEIZURE")
    partition = (expected_partition(key, TEST_PARTITIONS) + 1) % TEST_PARTITIONS
    producer.produce(topics.EXAMINATION_RESULTS, misrouted, key, partition=partition)
    assert producer.flush(30) == 0
    samples = wait_for(
        worker.web_port,
        lambda s: (
            sum(
                value(s, "screening_examination_results_total", disposition=d)
                for d in metrics.EXAMINATION_DISPOSITIONS
            )
            >= 15
            and value(s, "screening_feedback_assessments_total", disposition="duplicate") >= 1
        ),
        "consume every examination result and the repeated declaration",
    )

    def results(disposition: str) -> float:
        return value(samples, "screening_examination_results_total", disposition=disposition)

    assert {d: results(d) for d in metrics.EXAMINATION_DISPOSITIONS} == {
        "joined": 9,
        "waiting": 2,  # A1 before its assessment, and the unknown declaration
        "duplicate": 1,
        "conflict": 1,
        "malformed": 1,
        "misrouted": 1,
    }
    assert value(samples, "screening_examination_results_joined_late_total") == 1
    assert value(samples, "screening_feedback_assessments_total", disposition="joined") == 11
    assert value(samples, "screening_feedback_assessments_total", disposition="duplicate") == 1
    per_rule = {
        rule: [
            value(samples, f"screening_rule_{figure}_total", rule_id=rule)
            for figure in ("referrals", "examinations", "seizures", "irregularities")
        ]
        for rule in (ARMS, EXPLOSIVES, "HS-COUNTERFEIT-PRONE")
    }
    assert per_rule == {
        ARMS: [4, 3, 1, 1],  # A1, A2, A3 and W version 1; A2's later SEIZURE not applied
        EXPLOSIVES: [2, 2, 1, 1],  # E1, and E2 joined by way of the hand-off
        "HS-COUNTERFEIT-PRONE": [0, 0, 0, 0],  # matched, but never referred
    }
    assert value(samples, "screening_unreferred_examinations_total") == 4  # C1, C2, P, W v2
    assert value(samples, "screening_unreferred_findings_total") == 1  # P
    log = worker.log_path.read_text()
    assert f"{ghost}/1 (SEIZURE) has no assessment of that version yet" in log
    assert f"{ids['A2']}/1 (SEIZURE) differs from the one already counted" in log
    assert f"examination result for {elsewhere} at {topics.EXAMINATION_RESULTS}" in log
    assert "{not json" not in log

    assert effectiveness_json(settings) == {
        "rules": [
            {
                "rule_id": ARMS,
                "referrals": 4,
                "examinations": 3,
                "seizures": 1,
                "irregularities": 1,
                "precision": pytest.approx(2 / 3),
                "lift": pytest.approx((2 / 3) / (1 / 4)),
            },
            {
                "rule_id": EXPLOSIVES,
                "referrals": 2,
                "examinations": 2,
                "seizures": 1,
                "irregularities": 1,
                "precision": 1.0,
                "lift": 4.0,
            },
        ],
        "baseline": {"examinations": 4, "findings": 1, "finding_rate": 0.25},
        # The command reads every partition: the misrouted result is one more without an
        # assessment there, not a lost one.
        "without_assessment": {
            "count": 2,
            "versions": [
                {"declaration_id": elsewhere, "version": 1},
                {"declaration_id": ghost, "version": 1},
            ],
        },
        "assessments": 11,
        "examination_results": {"joined": 10, "duplicates": 1, "conflicts": 1, "malformed": 1},
    }
    table = screening(settings, "rules", "effectiveness")
    assert "Examination results without an assessment: 2" in table
    assert ghost in table


def effectiveness_json(settings: Settings) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(screening(settings, "rules", "effectiveness", "--json"))
    return document


def screening(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args, "--bootstrap", settings.kafka.servers],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def test_a_restarted_worker_joins_with_the_state_its_table_recovered(
    tmp_path: Path, run_id: str
) -> None:
    app_id = f"screening-feedback-{run_id.lower()}"
    referred = filing(f"{run_id}-A", hs_code="930690")
    with own_broker(tmp_path) as (_broker, settings):
        producer = Producer(producer_config(settings.kafka))
        first = spawn_worker(settings, tmp_path, app_id=app_id, log_name="first.log")
        try:
            publish(producer, [encode(referred)])
            wait_for(
                first.web_port,
                lambda s: (
                    value(s, "screening_feedback_assessments_total", disposition="joined") >= 1
                ),
                "join the assessment",
            )
            # Committed, so that the next worker does not screen the declaration again: what
            # it knows of its assessment can only come from the join table's changelog.
            wait_committed(settings, app_id, topics.DECLARATIONS, WAIT_S)
        finally:
            first.stop()

        second = spawn_worker(settings, tmp_path, app_id=app_id, log_name="second.log")
        try:
            send_examinations(producer, [examination(f"{run_id}-A", 1, "SEIZURE")])
            samples = wait_for(
                second.web_port,
                lambda s: (
                    sum(
                        value(s, "screening_examination_results_total", disposition=d)
                        for d in ("joined", "waiting")
                    )
                    >= 1
                ),
                "consume the examination result",
            )
        finally:
            second.stop()

    assert value(samples, "screening_feedback_assessments_total", disposition="joined") == 0
    assert value(samples, "screening_examination_results_total", disposition="waiting") == 0
    assert value(samples, "screening_examination_results_total", disposition="joined") == 1
    assert value(samples, "screening_rule_examinations_total", rule_id=ARMS) == 1
    assert value(samples, "screening_rule_seizures_total", rule_id=ARMS) == 1
