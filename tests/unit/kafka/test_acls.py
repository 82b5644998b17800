"""The ACL table (pipeline/kafka/acls.py): what each role may do, the bindings it makes, how
they are applied (against a fake admin client), and SECURITY.md's copies of it."""

from __future__ import annotations

import re
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from pipeline import topics
from pipeline.errors import ConfigurationError, KafkaAccessRefused, KafkaUnavailable
from pipeline.kafka import acls
from pipeline.kafka.acls import ROLES, TABLE, Grant, Role
from pipeline.kafka.reader import GROUP_PREFIX
from pipeline.settings import VARIABLES
from pipeline.worker.screened_join import handoff_topic

ROOT = Path(__file__).resolve().parents[3]
TOPIC_NAMES = acls.topic_names()
DEAD_LETTERS = [t for t in TOPIC_NAMES if ".dlq." in t]
GATEWAY = TABLE["filer-gateway"]
PIPELINE = TABLE["screening-pipeline"]


def readers(topic: str) -> set[str]:
    return {r.principal for r in ROLES if r.may("Read", "topic", topic)}


def writers(topic: str) -> set[str]:
    return {r.principal for r in ROLES if r.may("Write", "topic", topic)}


# --- the table ------------------------------------------------------------------------------


def test_the_roles_of_security_md_are_there() -> None:
    assert set(TABLE) == {
        "filer-gateway",
        "screening-pipeline",
        "screening-workbench",
        "targeting-officer",
        "risk-analyst",
        "registry-feed",
        "c2c-link",
        "screening-archive",
        "customs-it",
    }


@pytest.mark.parametrize("topic", [s.name for s in topics.TOPICS])
def test_every_topic_of_the_pipeline_has_its_writer_and_readers(topic: str) -> None:
    assert writers(topic), f"nobody may write {topic}: add it to pipeline/kafka/acls.py"
    if topic != topics.CASE_EVENTS:  # read by audit, which has no role yet (SECURITY.md)
        assert readers(topic), f"nobody may read {topic}: add it to pipeline/kafka/acls.py"


def test_the_topics_the_table_names_literally_are_the_pipelines() -> None:
    # A name here that is not in pipeline/topics.py is a typo or a renamed topic.
    named = {
        n
        for r in ROLES
        for g in r.grants
        if g.resource == "topic" and not g.prefixed
        for n in g.names
    }
    assert named <= {s.name for s in topics.TOPICS}


def test_the_filer_gateway_writes_declarations_and_responses_and_reads_only_notices() -> None:
    for topic in TOPIC_NAMES:
        assert GATEWAY.may("Read", "topic", topic) == (topic == acls.FILER_NOTICES), topic
        assert GATEWAY.may("Write", "topic", topic) == (
            topic in (topics.DECLARATIONS, acls.REFERRAL_RESPONSES)
        ), topic
    for topic in (topics.ASSESSMENTS, topics.HITS, *DEAD_LETTERS):
        for operation in ("Read", "Describe", "Write"):
            assert not GATEWAY.may(operation, "topic", topic), (operation, topic)
    assert GATEWAY.may("Read", "group", acls.GATEWAY_GROUP)
    assert not GATEWAY.may("Read", "group", acls.PIPELINE_GROUP)
    assert not GATEWAY.may("Read", "group", f"{GROUP_PREFIX}x")
    assert not GATEWAY.may("Create", "topic", topics.DECLARATIONS)
    assert not any(g.resource == "cluster" or g.prefixed for g in GATEWAY.grants)


def test_the_pipeline_writes_notices_but_cannot_read_them() -> None:
    assert PIPELINE.may("Write", "topic", acls.FILER_NOTICES)
    assert not PIPELINE.may("Read", "topic", acls.FILER_NOTICES)
    assert not PIPELINE.may("Read", "topic", acls.REFERRAL_RESPONSES)
    assert readers(acls.FILER_NOTICES) == {"filer-gateway"}


def test_the_pipeline_has_its_group_its_internal_topics_and_the_reader_groups() -> None:
    for topic in (topics.DECLARATIONS, topics.WATCHLIST_CLEARANCES):
        assert PIPELINE.may("Read", "topic", topic)
    for topic in (topics.ASSESSMENTS, topics.HITS, topics.DLQ):
        assert PIPELINE.may("Write", "topic", topic)
    assert PIPELINE.may("Read", "group", acls.PIPELINE_GROUP)
    assert PIPELINE.may("Create", "topic", f"{acls.PIPELINE_GROUP}-versions-changelog")
    handoff = handoff_topic(acls.PIPELINE_GROUP)
    for operation in ("Create", "Write", "Read"):
        assert PIPELINE.may(operation, "topic", handoff)
    # The examination join takes its assessments from the screening batch, not their topic.
    assert not PIPELINE.may("Read", "topic", topics.ASSESSMENTS)
    assert PIPELINE.may("Read", "group", f"{GROUP_PREFIX}3f2a")
    assert not PIPELINE.may("Create", "topic", topics.DECLARATIONS)


def test_only_customs_it_and_the_archive_read_dead_letters() -> None:
    assert DEAD_LETTERS
    for topic in DEAD_LETTERS:
        assert readers(topic) == {"customs-it", "screening-archive"}, topic


def test_only_the_filer_gateway_writes_declarations() -> None:
    assert writers(topics.DECLARATIONS) == {"filer-gateway"}
    assert not TABLE["targeting-officer"].may("Write", "topic", topics.DECLARATIONS)
    assert TABLE["targeting-officer"].may("Read", "topic", topics.HITS)


def test_the_workbench_reads_referrals_and_answers_and_writes_its_outbox() -> None:
    workbench = TABLE["screening-workbench"]
    for topic in (topics.HITS, topics.ASSESSMENTS, acls.REFERRAL_RESPONSES):
        assert workbench.may("Read", "topic", topic)
    for topic in (
        topics.CASE_EVENTS,
        topics.EXAMINATION_RESULTS,
        topics.WATCHLIST_CLEARANCES,
        acls.FILER_NOTICES,
    ):
        assert workbench.may("Write", "topic", topic)
    assert workbench.may("Read", "group", acls.WORKBENCH_GROUP)
    assert not workbench.may("Read", "topic", acls.FILER_NOTICES)


def test_hits_are_read_only_by_officers_their_workbench_and_the_archive() -> None:
    # A hit carries the whole declaration (personal data) and the reasons for selection.
    assert readers(topics.HITS) == {"screening-workbench", "targeting-officer", "screening-archive"}


def test_the_archive_only_reads() -> None:
    archive = TABLE["screening-archive"]
    assert all(grant.operations == ("Read",) for grant in archive.grants)
    assert not any(archive.may("Write", "topic", t.name) for t in topics.TOPICS)


def test_only_customs_it_creates_topics_and_nobody_gets_more_than_the_table() -> None:
    creators = {r.principal for r in ROLES if r.may("Create", "topic", topics.DECLARATIONS)}
    assert creators == {"customs-it"}
    for role in ROLES:
        for grant in role.grants:
            assert "*" not in grant.names, role.principal
            if grant.resource == "cluster":
                assert set(grant.operations) <= {"Describe"}, role.principal
            if grant.prefixed and grant.resource == "topic":
                assert grant.names[0] in ("customs.", f"{acls.PIPELINE_GROUP}-"), grant


def test_the_groups_are_the_settings_defaults() -> None:
    assert VARIABLES["app_id"].info.default == acls.PIPELINE_GROUP
    assert VARIABLES["workbench_group"].info.default == acls.WORKBENCH_GROUP


def test_kafkas_implications() -> None:
    grant = Grant(("Write",), "topic", ("t",), "why")
    assert grant.allows("Write")
    assert grant.allows("Describe")
    assert not grant.allows("Read")
    assert not grant.allows("DescribeConfigs")
    configs = Grant(("AlterConfigs",), "topic", ("t",), "why")
    assert configs.allows("DescribeConfigs")
    assert not configs.allows("Describe")
    assert Grant(("All",), "topic", ("t",), "why").allows("Delete")
    prefixed = Grant(("Read",), "topic", ("customs.",), "why", prefixed=True)
    assert prefixed.covers("topic", "customs.x")
    assert not prefixed.covers("topic", "customs-x")
    assert not prefixed.covers("group", "customs.x")


def test_a_grant_refuses_unknown_operations_and_a_named_cluster() -> None:
    with pytest.raises(ValueError, match="unknown Kafka operation"):
        Grant(("Fly",), "topic", ("t",), "why")
    with pytest.raises(ValueError, match="cluster"):
        Grant(("Describe",), "cluster", ("other",), "why")


# --- bindings ------------------------------------------------------------------------------


def binding(
    restype: ResourceType,
    name: str,
    operation: AclOperation,
    principal: str = "User:filer-gateway",
    pattern: ResourcePatternType = ResourcePatternType.LITERAL,
    permission: AclPermissionType = AclPermissionType.ALLOW,
    host: str = "*",
) -> AclBinding:
    return AclBinding(restype, name, pattern, principal, host, operation, permission)


def gateway_bindings(principal: str, group: str) -> set[AclBinding]:
    p = f"User:{principal}"
    return {
        binding(ResourceType.TOPIC, topics.DECLARATIONS, AclOperation.WRITE, p),
        binding(ResourceType.TOPIC, acls.REFERRAL_RESPONSES, AclOperation.WRITE, p),
        binding(ResourceType.TOPIC, acls.FILER_NOTICES, AclOperation.READ, p),
        binding(ResourceType.GROUP, group, AclOperation.READ, p),
    }


def test_the_filer_gateways_bindings() -> None:
    assert set(GATEWAY.bindings()) == gateway_bindings("filer-gateway", "filer-gateway")


def test_every_binding_allows_one_principal_from_any_host() -> None:
    for role in ROLES:
        bindings = role.bindings()
        assert bindings
        assert len(bindings) == len(set(bindings))
        for b in bindings:
            assert b.principal == f"User:{role.principal}"
            assert b.host == "*"
            assert b.permission_type == AclPermissionType.ALLOW


def test_prefixed_and_cluster_bindings() -> None:
    it = set(TABLE["customs-it"].bindings())
    assert (
        binding(
            ResourceType.TOPIC,
            "customs.",
            AclOperation.CREATE,
            "User:customs-it",
            ResourcePatternType.PREFIXED,
        )
        in it
    )
    assert (
        binding(ResourceType.BROKER, "kafka-cluster", AclOperation.DESCRIBE, "User:customs-it")
        in it
    )
    reader = binding(
        ResourceType.GROUP,
        GROUP_PREFIX,
        AclOperation.READ,
        "User:screening-pipeline",
        ResourcePatternType.PREFIXED,
    )
    assert reader in set(PIPELINE.bindings())


def test_add_gateway_makes_the_filer_gateway_template_for_another_user_and_group() -> None:
    north = acls.gateway_role("gw-north")
    assert set(north.bindings()) == gateway_bindings("gw-north", "gw-north")
    south = acls.gateway_role("gw-south", "gw-south-notices")
    assert set(south.bindings()) == gateway_bindings("gw-south", "gw-south-notices")
    for topic in (topics.ASSESSMENTS, topics.HITS, *DEAD_LETTERS):
        assert not south.may("Read", "topic", topic)
    assert not south.may("Read", "group", acls.GATEWAY_GROUP)


@pytest.mark.parametrize(
    ("principal", "group", "message"),
    [
        ("screening-pipeline", None, "is a role of the table"),
        ("filer-gateway", "other", "is a role of the table"),
        ("gw north", None, "principal 'gw north'"),
        ("gw\n", None, "principal 'gw\\n'"),
        ("User:gw", None, "principal 'User:gw'"),
        ("", None, "principal ''"),
        ("x" * 65, None, "principal"),
        ("gw-north", "customs-screening", "group 'customs-screening' is screening-pipeline's"),
        ("gw-north", "filer-gateway", "group 'filer-gateway' is filer-gateway's"),
        ("gw-north", f"{GROUP_PREFIX}a", "is screening-pipeline's"),
        ("gw-north", "-x", "group '-x'"),
    ],
)
def test_add_gateway_refuses(principal: str, group: str | None, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        acls.gateway_role(principal, group)


def test_select() -> None:
    assert acls.select([]) == list(ROLES)
    assert [r.principal for r in acls.select(["customs-it", "filer-gateway", "customs-it"])] == [
        "customs-it",
        "filer-gateway",
    ]
    with pytest.raises(ConfigurationError, match="no role 'nobody'"):
        acls.select(["nobody"])


def test_describe_binding() -> None:
    b = binding(
        ResourceType.GROUP,
        GROUP_PREFIX,
        AclOperation.READ,
        "User:x",
        ResourcePatternType.PREFIXED,
        AclPermissionType.DENY,
        "10.0.0.1",
    )
    assert (
        acls.describe_binding(b)
        == "User:x DENY Read on group prefixed screening-reader- from 10.0.0.1"
    )


# --- applying them -------------------------------------------------------------------------


def _done(value: Any) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


def _failed(code: int) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(KafkaException(KafkaError(code)))
    return future


class FakeAdmin:
    """The admin client's ACL calls over a set of bindings, as a broker would keep them."""

    def __init__(self, bindings: set[AclBinding] | None = None, fail: int | None = None) -> None:
        self.bindings = set(bindings or ())
        self.fail = fail
        self.calls: list[str] = []

    def describe_acls(self, f: AclBindingFilter, request_timeout: float = 0) -> Future[Any]:
        self.calls.append("describe")
        if self.fail is not None:
            return _failed(self.fail)
        return _done([b for b in self.bindings if b.principal == f.principal])

    def create_acls(
        self, bindings: list[AclBinding], request_timeout: float = 0
    ) -> dict[AclBinding, Future[Any]]:
        self.calls.append("create")
        self.bindings.update(bindings)
        return {b: _done(None) for b in bindings}

    def delete_acls(
        self, filters: list[AclBindingFilter], request_timeout: float = 0
    ) -> dict[AclBindingFilter, Future[Any]]:
        self.calls.append("delete")
        results = {}
        for f in filters:
            gone = [b for b in self.bindings if _key(b) == _key(f)]
            self.bindings.difference_update(gone)
            results[f] = _done(gone)
        return results


def _key(b: AclBinding | AclBindingFilter) -> tuple[Any, ...]:
    return (
        b.restype,
        b.name,
        b.resource_pattern_type,
        b.principal,
        b.host,
        b.operation,
        b.permission_type,
    )


def test_apply_creates_what_is_missing_and_is_idempotent() -> None:
    admin = FakeAdmin()
    changes = acls.apply_acls(admin, ROLES)  # type: ignore[arg-type]
    every = {b for r in ROLES for b in r.bindings()}
    assert set(changes.created) == every == admin.bindings
    again = acls.apply_acls(admin, ROLES)  # type: ignore[arg-type]
    assert again.created == []
    assert set(again.present) == every
    assert "create" not in admin.calls[len(ROLES) + 1 :]


def test_apply_keeps_bindings_outside_the_table_unless_pruning() -> None:
    stray = binding(ResourceType.TOPIC, topics.ASSESSMENTS, AclOperation.READ)
    deny = binding(
        ResourceType.TOPIC, topics.HITS, AclOperation.READ, permission=AclPermissionType.DENY
    )
    other_gateway = binding(
        ResourceType.TOPIC, topics.DECLARATIONS, AclOperation.WRITE, "User:gw-north"
    )
    admin = FakeAdmin({stray, deny, other_gateway})
    kept = acls.apply_acls(admin, [GATEWAY])  # type: ignore[arg-type]
    assert set(kept.extra) == {stray, deny}
    assert kept.deleted == []
    assert {stray, deny} <= admin.bindings

    dry = acls.apply_acls(admin, [GATEWAY], prune=True, dry_run=True)  # type: ignore[arg-type]
    assert set(dry.deleted) == {stray, deny}
    assert {stray, deny} <= admin.bindings

    pruned = acls.apply_acls(admin, [GATEWAY], prune=True)  # type: ignore[arg-type]
    assert set(pruned.deleted) == {stray, deny}
    assert admin.bindings == set(GATEWAY.bindings()) | {other_gateway}


def test_a_dry_run_changes_nothing() -> None:
    admin = FakeAdmin()
    changes = acls.apply_acls(admin, [GATEWAY], dry_run=True)  # type: ignore[arg-type]
    assert len(changes.created) == 4
    assert admin.bindings == set()
    assert admin.calls == ["describe"]


def test_removing_a_gateway_deletes_all_its_bindings() -> None:
    north = acls.gateway_role("gw-north")
    admin = FakeAdmin(set(north.bindings()) | set(GATEWAY.bindings()))
    changes = acls.apply_acls(admin, [acls.former_gateway("gw-north")], prune=True)  # type: ignore[arg-type]
    assert set(changes.deleted) == set(north.bindings())
    assert admin.bindings == set(GATEWAY.bindings())
    with pytest.raises(ConfigurationError, match="role of the table"):
        acls.former_gateway("filer-gateway")


@pytest.mark.parametrize(
    ("code", "error", "message"),
    [
        (KafkaError.SECURITY_DISABLED, ConfigurationError, "has no authorizer"),
        (KafkaError.CLUSTER_AUTHORIZATION_FAILED, KafkaAccessRefused, "super user"),
        (KafkaError.REQUEST_TIMED_OUT, KafkaUnavailable, "cannot describe ACLs"),
    ],
)
def test_kafkas_refusals_are_one_clear_error(
    code: int, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        acls.apply_acls(FakeAdmin(fail=code), [GATEWAY], where="k:9093")  # type: ignore[arg-type]


# --- SECURITY.md -----------------------------------------------------------------------------


def _between(text: str, start: str, end: str) -> str:
    begin = text.index("\n", text.index(start)) + 1
    return text[begin : text.index(end, begin)]


def test_security_md_shows_the_table_as_the_code_has_it() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    regenerate = "regenerate it with `screening acl show --markdown`"
    assert (
        _between(text, "<!-- acl table:", "<!-- end of acl table -->") == acls.markdown_table()
    ), regenerate
    assert (
        _between(text, "<!-- topic table:", "<!-- end of topic table -->") == acls.topic_table()
    ), "regenerate it with `screening acl show --by-topic`"
    assert "kafka-acls.sh --bootstrap-server" not in text  # the commands in prose are gone


def test_security_md_gives_the_authorizer_settings() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    for setting in (
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found=false",
        "super.users=",
    ):
        assert setting in text


def test_a_role_without_grants_has_no_bindings() -> None:
    assert Role("nobody", "nobody").bindings() == []


def test_workers_write_their_status_and_analysts_and_it_read_it() -> None:
    assert writers(topics.WORKER_STATUS) == {"screening-pipeline"}
    assert readers(topics.WORKER_STATUS) == {"risk-analyst", "customs-it"}
    assert not PIPELINE.may("Read", "topic", topics.WORKER_STATUS)
    # `screening rules status` reads the status and the rules topic: the analysts may both.
    analyst = TABLE["risk-analyst"]
    assert analyst.may("Read", "topic", topics.RULES)
    assert analyst.may("Read", "group", f"{GROUP_PREFIX}x")
