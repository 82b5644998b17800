"""The hostile corpus through the real broker and the session's worker.

Every bad message lands on the dead-letter topic with its code, every valid one (odd or good)
gets its assessment, and good declarations sent after the corpus are still screened. Then the
worker's /metrics is read: no label value carries a declaration id or a party name.
"""

from __future__ import annotations

import re
import urllib.request
from collections import defaultdict
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from pipeline import topics
from pipeline.settings import Settings
from tests.factories import encode, filing
from tests.hostile_corpus import hostile_corpus
from tests.integration.conftest import collect, key_prefix, publish

pytestmark = pytest.mark.integration

PARTY_NAMES = ("NORDIC FORWARDING AS", "NINGBO HOMEWARE MANUFACTURING", "MOEBEL MUELLER")
CORPUS_TIMEOUT_S = 240.0


def _metrics_url(log_path: Path) -> str:
    found = re.search(rb"metrics (http://\S+/metrics)", log_path.read_bytes())
    assert found, "the worker did not say where its metrics are"
    return found.group(1).decode()


@pytest.mark.timeout(600)
def test_hostile_corpus_is_dead_lettered_or_screened_and_the_worker_goes_on(
    settings: Settings, worker: Path, producer: Producer, run_id: str
) -> None:
    corpus = hostile_corpus(prefix=run_id)
    good_before = [filing(f"{run_id}-GOOD-{i:03d}") for i in range(len(corpus))]
    messages: list[tuple[bytes | None, bytes | None]] = []
    for good, case in zip(good_before, corpus, strict=True):
        messages += [encode(good), (case.key, case.value)]
    publish(producer, messages)
    good_after = [filing(f"{run_id}-AFTER-{i:02d}") for i in range(20)]
    publish(producer, [encode(d) for d in good_after])

    rejected_cases = [case for case in corpus if case.expected is not None]
    screened_ids = [case.declaration_id for case in corpus if case.expected is None]
    good_ids = [d["declaration_id"] for d in good_before + good_after]
    dead = collect(
        settings, topics.DLQ, key_prefix(run_id), len(rejected_cases), timeout_s=CORPUS_TIMEOUT_S
    )
    assessed = collect(
        settings,
        topics.ASSESSMENTS,
        key_prefix(run_id),
        len(good_ids) + len(screened_ids),
        timeout_s=CORPUS_TIMEOUT_S,
    )

    codes: dict[bytes | None, set[str]] = defaultdict(set)
    for record in dead:
        assert record.value is not None
        codes[record.key].add(orjson.loads(record.value)["error"]["code"])
    assert dict(codes) == {case.key: {case.expected} for case in rejected_cases}

    outcomes: dict[str, set[str]] = defaultdict(set)
    for record in assessed:
        assert record.value is not None
        assessment = orjson.loads(record.value)
        outcomes[assessment["declaration_id"]].add(assessment["outcome"])
    assert set(outcomes) == set(good_ids) | set(screened_ids)
    assert all(outcomes[i] == {"ASSESSMENT_COMPLETE"} for i in good_ids)
    assert b"Traceback" not in worker.read_bytes()


def test_metric_labels_carry_no_declaration_ids_or_party_data(
    settings: Settings, worker: Path, producer: Producer, run_id: str
) -> None:
    screened = [filing(f"{run_id}-M{i}", hs_code="930690" if i % 2 else "940360") for i in range(6)]
    publish(producer, [encode(d) for d in screened] + [(f"{run_id}-BAD".encode(), b"{")])
    collect(settings, topics.ASSESSMENTS, key_prefix(run_id), len(screened))
    collect(settings, topics.DLQ, key_prefix(run_id), 1)

    with urllib.request.urlopen(_metrics_url(worker), timeout=30) as response:
        exposition = response.read().decode()
    label_values: dict[str, set[str]] = defaultdict(set)
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            for name, value in sample.labels.items():
                label_values[name].add(value)
    assert label_values, "the worker exposes labelled metrics"
    forbidden = [run_id, *PARTY_NAMES, *(d["consignee"]["name"] for d in screened)]
    for name, values in label_values.items():
        for value in values:
            assert not any(f.lower() in value.lower() for f in forbidden), (name, value)
        # Bounded sets: codes, outcomes, topics, rule ids; never one value per declaration.
        assert len(values) < 200, (name, sorted(values)[:20])
    # Nor does the log carry payloads: no party name of anything it screened.
    log_text = worker.read_text(errors="replace").lower()
    assert not any(name.lower() in log_text for name in forbidden[1:])
