"""The ACL table enforced by a real broker: StandardAuthorizer, SASL_SSL, a SCRAM user per role.

One broker for the module (tests/integration/secure_kafka.py) with
``allow.everyone.if.no.acl.found=false``; ``admin`` and the broker's own certificate principal
are its only super users. The admin runs ``screening acl apply`` and ``screening acl
add-gateway``, customs IT creates the topics with ``screening topics ensure``, and then each
role's real clients (confluent-kafka producers and consumers, with that role's user) do what
the table allows and are refused what it does not. A refusal must be Kafka's authorization
error (TOPIC_AUTHORIZATION_FAILED or GROUP_AUTHORIZATION_FAILED), not a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from pipeline import topics
from pipeline.archive.sources import ARCHIVE_GROUP
from pipeline.kafka import acls
from pipeline.kafka.producer import producer_config
from pipeline.kafka.reader import GROUP_PREFIX
from pipeline.worker.screened_join import handoff_topic
from tests.integration.conftest import ROOT
from tests.integration.secure_kafka import SecureBroker, started_secure_broker

pytestmark = pytest.mark.integration

ADMIN = "admin"
NEW_GATEWAY = "gw-north"
USERS = [ADMIN, *acls.TABLE, NEW_GATEWAY]
COMMAND_TIMEOUT_S = 120
# Long enough for any allowed read or write; a refusal comes back far sooner.
CLIENT_TIMEOUT_S = 30.0

TOPIC_DENIED = KafkaError.TOPIC_AUTHORIZATION_FAILED
GROUP_DENIED = KafkaError.GROUP_AUTHORIZATION_FAILED


def screening(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=ROOT,
        env={**os.environ, **env, "SCREENING_PARTITIONS": "1"},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )


def _wait_for_bindings(broker: SecureBroker, roles: list[acls.Role]) -> None:
    """Until the broker's authorizer holds every binding of ``roles`` (describe answers from
    the same metadata the authorizer uses)."""
    admin = AdminClient(broker.settings(ADMIN).kafka.librdkafka_config())
    wanted = {b for role in roles for b in role.bindings()}
    deadline = time.monotonic() + 30
    while True:
        have: set[Any] = set()
        for role in roles:
            have.update(admin.describe_acls(acls.principal_filter(role.kafka_principal)).result())
        if wanted <= have:
            return
        assert time.monotonic() < deadline, f"missing bindings: {wanted - have}"
        time.sleep(0.2)


def _create_missing_topics(broker: SecureBroker) -> None:
    """The topics the table names that pipeline/topics.py does not (yet) create."""
    admin = AdminClient(broker.settings(ADMIN).kafka.librdkafka_config())
    missing = set(acls.topic_names()) - set(admin.list_topics(timeout=15).topics)
    if missing:
        for future in admin.create_topics([NewTopic(t, 1, 1) for t in missing]).values():
            future.result()


@dataclass(frozen=True)
class Applied:
    broker: SecureBroker
    apply_output: str
    again_output: str


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Applied]:
    folder = tmp_path_factory.mktemp("acl-kafka")
    with started_secure_broker(folder, USERS, super_users=[ADMIN]) as broker:
        admin = broker.env(ADMIN)
        first = screening(["acl", "apply"], admin)
        assert first.returncode == 0, first.stderr
        again = screening(["acl", "apply"], admin)
        assert again.returncode == 0, again.stderr
        added = screening(["acl", "add-gateway", NEW_GATEWAY], admin)
        assert added.returncode == 0, added.stderr
        _wait_for_bindings(broker, [*acls.ROLES, acls.gateway_role(NEW_GATEWAY)])
        # Customs IT creates the topics: allowed by its prefixed Create and AlterConfigs.
        ensured = screening(["topics", "ensure"], broker.env("customs-it"))
        assert ensured.returncode == 0, ensured.stderr
        _create_missing_topics(broker)
        yield Applied(broker, first.stderr, again.stderr)


# --- clients ----------------------------------------------------------------------------------


def produce(broker: SecureBroker, user: str, topic: str, key: str) -> int | None:
    """Produce one record as ``user`` with the pipeline's own (idempotent) producer settings;
    None when Kafka acknowledged it, else the error code of its delivery report."""
    reports: list[KafkaError | None] = []
    producer = Producer(
        {
            **producer_config(broker.settings(user).kafka),
            "message.timeout.ms": int(CLIENT_TIMEOUT_S * 1000),
        }
    )
    producer.produce(
        topic, b'{"test": true}', key.encode(), on_delivery=lambda e, _: reports.append(e)
    )
    producer.flush(CLIENT_TIMEOUT_S + 5)
    assert reports, f"no delivery report for {topic} within {CLIENT_TIMEOUT_S} s"
    error = reports[0]
    return None if error is None else error.code()


@dataclass
class Read:
    keys: list[str]
    error: int | None  # the first error the consumer reported, if any


def consume(
    broker: SecureBroker,
    user: str,
    topic: str,
    group: str,
    want_key: str | None = None,
    commit: bool = False,
) -> Read:
    """Subscribe as ``user`` in ``group``; stop at ``want_key``, at the first error, or after
    CLIENT_TIMEOUT_S."""
    consumer = Consumer(
        {
            **broker.settings(user).kafka.librdkafka_config(),
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    keys: list[str] = []
    error: int | None = None
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while time.monotonic() < deadline:
            message: Message | None = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                error = message.error().code()
                break
            key = (message.key() or b"").decode()
            keys.append(key)
            if key == want_key:
                if commit:
                    consumer.commit(message, asynchronous=False)
                break
    finally:
        consumer.close()
    return Read(keys, error)


def unique(what: str) -> str:
    return f"ACL-{what}-{uuid.uuid4().hex[:8]}"


def reader_group() -> str:
    return f"{GROUP_PREFIX}{uuid.uuid4()}"


# --- applying -----------------------------------------------------------------------------------


def test_apply_creates_the_table_once_and_add_gateway_its_four_bindings(applied: Applied) -> None:
    total = sum(len(role.bindings()) for role in acls.ROLES)
    assert f"acl: {total} created, 0 present, 0 deleted" in applied.apply_output
    assert f"acl: 0 created, {total} present, 0 deleted" in applied.again_output


def test_topics_ensure_as_customs_it_made_every_topic(applied: Applied) -> None:
    admin = AdminClient(applied.broker.settings(ADMIN).kafka.librdkafka_config())
    existing = set(admin.list_topics(timeout=15).topics)
    assert {spec.name for spec in topics.TOPICS} <= existing


# --- the filer gateway ------------------------------------------------------------------------


def test_the_gateway_writes_declarations_and_referral_responses(applied: Applied) -> None:
    broker = applied.broker
    assert produce(broker, "filer-gateway", topics.DECLARATIONS, unique("D")) is None
    assert produce(broker, "filer-gateway", acls.REFERRAL_RESPONSES, unique("R")) is None


def test_the_gateway_reads_notices_the_pipeline_wrote_in_its_own_group(applied: Applied) -> None:
    broker = applied.broker
    key = unique("N")
    assert produce(broker, "screening-pipeline", acls.FILER_NOTICES, key) is None
    read = consume(broker, "filer-gateway", acls.FILER_NOTICES, "filer-gateway", key, commit=True)
    assert read.error is None
    assert key in read.keys


def test_the_gateway_may_not_write_assessments(applied: Applied) -> None:
    assert produce(applied.broker, "filer-gateway", topics.ASSESSMENTS, unique("A")) == TOPIC_DENIED


@pytest.mark.parametrize(
    "topic", [topics.ASSESSMENTS, topics.HITS, topics.DLQ, acls.REFERRAL_RESPONSES_DLQ]
)
def test_the_gateway_may_not_read_why_cargo_was_selected_nor_dead_letters(
    applied: Applied, topic: str
) -> None:
    read = consume(applied.broker, "filer-gateway", topic, "filer-gateway")
    assert read.error == TOPIC_DENIED
    assert read.keys == []


def test_the_gateway_may_not_use_the_pipelines_group(applied: Applied) -> None:
    read = consume(applied.broker, "filer-gateway", acls.FILER_NOTICES, acls.PIPELINE_GROUP)
    assert read.error == GROUP_DENIED


# --- the pipeline, officers, customs IT -------------------------------------------------------


def test_the_pipeline_writes_notices_but_may_not_read_them(applied: Applied) -> None:
    broker = applied.broker
    assert produce(broker, "screening-pipeline", acls.FILER_NOTICES, unique("N")) is None
    # In a group it may use: the topic is what Kafka refuses.
    read = consume(broker, "screening-pipeline", acls.FILER_NOTICES, reader_group())
    assert read.error == TOPIC_DENIED
    assert read.keys == []


def test_the_pipeline_writes_assessments_and_reads_back_only_its_hand_off_topic(
    applied: Applied,
) -> None:
    broker = applied.broker
    key = unique("A")
    assert produce(broker, "screening-pipeline", topics.ASSESSMENTS, key) is None
    read = consume(broker, "screening-pipeline", topics.ASSESSMENTS, reader_group())
    assert read.error == TOPIC_DENIED
    # Its own topic, under its prefix: it creates it, writes it and reads it.
    handoff = handoff_topic(acls.PIPELINE_GROUP)
    admin = AdminClient(broker.settings("screening-pipeline").kafka.librdkafka_config())
    admin.create_topics([NewTopic(handoff, 1, 1)])[handoff].result(CLIENT_TIMEOUT_S)
    assert produce(broker, "screening-pipeline", handoff, key) is None
    read = consume(broker, "screening-pipeline", handoff, acls.PIPELINE_GROUP, key)
    assert read.error is None
    assert key in read.keys


def test_an_officer_may_not_write_declarations_but_reads_hits(applied: Applied) -> None:
    broker = applied.broker
    assert produce(broker, "targeting-officer", topics.DECLARATIONS, unique("D")) == TOPIC_DENIED
    key = unique("H")
    assert produce(broker, "screening-pipeline", topics.HITS, key) is None
    read = consume(broker, "targeting-officer", topics.HITS, reader_group(), key)
    assert read.error is None
    assert key in read.keys


def test_customs_it_reads_the_dead_letters(applied: Applied) -> None:
    broker = applied.broker
    key = unique("DLQ")
    assert produce(broker, "screening-pipeline", topics.DLQ, key) is None
    read = consume(broker, "customs-it", topics.DLQ, reader_group(), key)
    assert read.error is None
    assert key in read.keys


def test_the_archive_reads_the_dead_letters_in_its_group(applied: Applied) -> None:
    broker = applied.broker
    key = unique("ARCHIVE")
    assert produce(broker, "screening-pipeline", topics.DLQ, key) is None
    read = consume(broker, "screening-archive", topics.DLQ, ARCHIVE_GROUP, key)
    assert read.error is None
    assert key in read.keys


def _a_group_of(role: acls.Role) -> str | None:
    """A consumer group the role may use, so that only the topic can be refused; None for a
    role that may use none (MirrorMaker 2's link reads by assignment)."""
    for grant in role.grants:
        if grant.resource == "group" and grant.allows("Read"):
            name = grant.names[0]
            return f"{name}{uuid.uuid4()}" if grant.prefixed else name
    return None


@pytest.mark.parametrize(
    "principal", [p for p in acls.TABLE if p not in ("customs-it", "screening-archive")]
)
def test_nobody_else_reads_the_dead_letters(applied: Applied, principal: str) -> None:
    group = _a_group_of(acls.TABLE[principal])
    read = consume(applied.broker, principal, topics.DLQ, group or reader_group())
    # Without a group of its own, the group may be refused before the topic: either way, no
    # dead letter is read.
    assert read.error == TOPIC_DENIED or (group is None and read.error == GROUP_DENIED)
    assert read.keys == []


def test_anonymous_clients_of_the_plaintext_listener_may_do_nothing(applied: Applied) -> None:
    reports: list[KafkaError | None] = []
    producer = Producer(
        {"bootstrap.servers": applied.broker.plaintext, "message.timeout.ms": 20_000}
    )
    producer.produce(topics.DECLARATIONS, b"{}", b"k", on_delivery=lambda e, _: reports.append(e))
    producer.flush(25)
    assert reports
    assert reports[0] is not None
    assert reports[0].code() == TOPIC_DENIED


# --- a gateway added with `screening acl add-gateway` --------------------------------------------


def test_an_added_gateway_works_in_its_own_group(applied: Applied) -> None:
    broker = applied.broker
    assert produce(broker, NEW_GATEWAY, topics.DECLARATIONS, unique("D")) is None
    assert produce(broker, NEW_GATEWAY, acls.REFERRAL_RESPONSES, unique("R")) is None
    key = unique("N")
    assert produce(broker, "screening-workbench", acls.FILER_NOTICES, key) is None
    read = consume(broker, NEW_GATEWAY, acls.FILER_NOTICES, NEW_GATEWAY, key, commit=True)
    assert read.error is None
    assert key in read.keys


def test_an_added_gateway_is_limited_as_the_first(applied: Applied) -> None:
    broker = applied.broker
    assert produce(broker, NEW_GATEWAY, topics.HITS, unique("H")) == TOPIC_DENIED
    for topic in (topics.ASSESSMENTS, topics.HITS, topics.DLQ):
        assert consume(broker, NEW_GATEWAY, topic, NEW_GATEWAY).error == TOPIC_DENIED, topic
    # Not the other gateway's group: its offsets are that gateway's.
    read = consume(broker, NEW_GATEWAY, acls.FILER_NOTICES, acls.GATEWAY_GROUP)
    assert read.error == GROUP_DENIED


# --- pruning (last: it changes the bindings for a moment) --------------------------------------


def test_prune_deletes_a_grant_the_table_does_not_hold(applied: Applied) -> None:
    broker = applied.broker
    admin = AdminClient(broker.settings(ADMIN).kafka.librdkafka_config())
    stray = acls.Role(
        "filer-gateway",
        "",
        (acls.Grant(("Read",), "topic", (topics.ASSESSMENTS,), "a mistake"),),
    ).bindings()
    for future in admin.create_acls(stray).values():
        future.result()
    env = broker.env(ADMIN)
    kept = screening(["acl", "apply", "-p", "filer-gateway"], env)
    assert kept.returncode == 0, kept.stderr
    line = "User:filer-gateway ALLOW Read on topic customs.assessments.v1"
    assert f"not in the table (kept; --prune deletes it): {line}" in kept.stderr
    pruned = screening(["acl", "apply", "-p", "filer-gateway", "--prune"], env)
    assert pruned.returncode == 0, pruned.stderr
    assert f"delete: {line}" in pruned.stderr
    assert "acl: 0 created, 4 present, 1 deleted" in pruned.stderr
    have = admin.describe_acls(acls.principal_filter("User:filer-gateway")).result()
    assert set(have) == set(acls.TABLE["filer-gateway"].bindings())
    # The added gateway is not a principal of the table: pruning leaves it alone.
    north = admin.describe_acls(acls.principal_filter(f"User:{NEW_GATEWAY}")).result()
    assert set(north) == set(acls.gateway_role(NEW_GATEWAY).bindings())
