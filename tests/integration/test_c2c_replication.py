"""MirrorMaker 2 between two administrations' clusters (deploy/kafka/mirrormaker.sh).

Each side's customs.c2c.outbound.v1 arrives on the other as `<alias>.customs.c2c.outbound.v1`;
nothing else of ours leaves; a link that goes down loses nothing. MirrorMaker 2 delivers at
least once: after a restart it sends again what it had sent since its last offset flush, so a
partner's consumers dedupe by `message_id`. The tests count distinct messages and report the
duplicates.
"""

from __future__ import annotations

import threading
import time
import uuid

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from pipeline import topics
from pipeline.c2c.link import link_lag_seconds
from pipeline.errors import KafkaUnavailable
from pipeline.kafka.producer import produce_waiting, producer_config
from pipeline.kafka.reader import TopicReader
from pipeline.records import InputRecord
from tests.integration.c2c import (
    LINKED_LAG_S,
    REFRESH_S,
    Cluster,
    MirrorMaker,
    TwoClusters,
    mirrormaker_fixture,  # noqa: F401
    mirrormaker_process_fixture,  # noqa: F401
    two_clusters_fixture,  # noqa: F401
)

pytestmark = [pytest.mark.integration, pytest.mark.c2c]

ARRIVAL_TIMEOUT_S = 90.0


def _message(run: str, i: int) -> tuple[bytes, bytes]:
    """A partner message as the outbound topic carries it: keyed by UCR."""
    message_id = f"{run}-{i:04d}"
    value = {"message_id": message_id, "kind": "RISK_FINDING", "ucr": f"UCR-{message_id}"}
    return f"UCR-{message_id}".encode(), orjson.dumps(value)


def _produce(cluster: Cluster, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = Producer(producer_config(cluster.settings.kafka))
    for key, value in messages:
        produce_waiting(producer, topic, value, key)
    assert producer.flush(30) == 0


def _reader(cluster: Cluster, topic: str, timeout_s: float = 30.0) -> TopicReader:
    """A reader of ``topic``, once MirrorMaker has created it."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return TopicReader(cluster.settings.kafka, topic)
        except KafkaUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _read(
    cluster: Cluster,
    topic: str,
    run: str,
    distinct: int,
    timeout_s: float = ARRIVAL_TIMEOUT_S,
    settle_s: float = 1.0,
) -> list[InputRecord]:
    """Every record of this run on ``topic`` once ``distinct`` different keys have arrived (or
    the time is up), and ``settle_s`` longer so that stragglers and duplicates count too."""
    reader = _reader(cluster, topic)
    prefix = f"UCR-{run}-".encode()
    found: list[InputRecord] = []
    deadline = time.monotonic() + timeout_s
    settle_until: float | None = None
    try:
        while time.monotonic() < deadline:
            found.extend(r for r in reader.poll(0.5) if r.key and r.key.startswith(prefix))
            if settle_until is None and len({r.key for r in found}) >= distinct:
                settle_until = time.monotonic() + settle_s
            if settle_until is not None and time.monotonic() >= settle_until:
                break
    finally:
        reader.close()
    return found


def _run() -> str:
    return f"C2C-{uuid.uuid4().hex[:8]}"


def test_outbound_messages_arrive_on_the_partners_cluster_both_ways(
    two_clusters: TwoClusters, mirrormaker: MirrorMaker
) -> None:
    for source, target in two_clusters.both_ways():
        run = _run()
        sent = [_message(run, i) for i in range(20)]
        _produce(source, topics.C2C_OUTBOUND, sent)

        arrived = _read(target, topics.partner_inbound_topic(source.alias), run, len(sent))

        assert {(r.key, r.value) for r in arrived} == set(sent), f"{source.alias}->{target.alias}"
        lag = link_lag_seconds(target.settings.kafka, source.alias)
        assert lag is not None
        assert lag < LINKED_LAG_S, f"{source.alias}->{target.alias} lags {lag:.1f} s"


HALF = 500


@pytest.mark.timeout(240)
def test_a_link_down_mid_stream_loses_nothing_when_it_returns(
    two_clusters: TwoClusters, mirrormaker: MirrorMaker
) -> None:
    source, target = two_clusters.eu, two_clusters.cn
    remote = topics.partner_inbound_topic(source.alias)
    run = _run()
    first = [_message(run, i) for i in range(HALF)]
    second = [_message(run, i) for i in range(HALF, 2 * HALF)]

    # The first half at about 100 a second, so that the link goes down while it flows.
    def trickle() -> None:
        producer = Producer(producer_config(source.settings.kafka))
        for start in range(0, HALF, 10):
            for key, value in first[start : start + 10]:
                produce_waiting(producer, topics.C2C_OUTBOUND, value, key)
            assert producer.flush(30) == 0
            time.sleep(0.1)

    feed = threading.Thread(target=trickle)
    feed.start()
    try:
        before_stop = _read(target, remote, run, HALF // 2, timeout_s=60, settle_s=0)
        mirrormaker.stop()
    finally:
        feed.join()
    _produce(source, topics.C2C_OUTBOUND, second)
    time.sleep(3)

    # Down: nothing of the second half crossed, and the lag signal shows it.
    while_down = _read(target, remote, run, 2 * HALF, timeout_s=2)
    assert not {r.key for r in while_down} & {key for key, _ in second}
    lag = link_lag_seconds(target.settings.kafka, source.alias)
    assert lag is not None
    assert lag >= 3.0

    mirrormaker.start()
    arrived = _read(target, remote, run, 2 * HALF)

    distinct = {(r.key, r.value) for r in arrived}
    missing = set(first + second) - distinct
    print(
        f"\nlink down after {len({r.key for r in before_stop})} of {HALF}; "
        f"{len(while_down)} across while down; after the restart {len(arrived)} records, "
        f"{len(distinct)} distinct, {len(arrived) - len(distinct)} duplicates, "
        f"{len(missing)} missing"
    )
    assert not missing, f"{len(missing)} lost, e.g. {sorted(missing)[:3]}"
    assert distinct == set(first + second)


def test_topics_not_listed_never_leave(two_clusters: TwoClusters, mirrormaker: MirrorMaker) -> None:
    run = _run()
    for source, _ in two_clusters.both_ways():
        _produce(source, topics.ASSESSMENTS, [_message(run, 0)])
        _produce(source, topics.C2C_OUTBOUND, [_message(run, 1)])
    for source, target in two_clusters.both_ways():
        # The outbound record crossed, after the assessment was written...
        assert _read(target, topics.partner_inbound_topic(source.alias), run, 1)
    # ...and MirrorMaker has looked for new topics since.
    time.sleep(2 * REFRESH_S + 1)

    for source, target in two_clusters.both_ways():
        names = (
            AdminClient(target.settings.kafka.librdkafka_config()).list_topics(timeout=15).topics
        )
        remote = {name for name in names if name.startswith(f"{source.alias}.")}
        assert f"{source.alias}.{topics.ASSESSMENTS}" not in remote
        assert topics.partner_inbound_topic(source.alias) in remote
        assert remote <= {
            topics.partner_inbound_topic(source.alias),
            f"{source.alias}.{topics.AEO_REGISTRY}",  # where the clusters have one
            f"{source.alias}.heartbeats",
            f"{source.alias}.checkpoints.internal",
        }
