"""Kafka ACLs per role, as data, and how to apply them (``screening acl``).

Each role of SECURITY.md is one Kafka user (SCRAM), whose principal is ``User:<name>``. The
broker runs Kafka's StandardAuthorizer with ``allow.everyone.if.no.acl.found=false``, so a
principal may do exactly what its grants below allow and nothing else. Grants are ALLOW
bindings for any host. Kafka implies Describe from Read, Write, Delete and Alter, and
DescribeConfigs from AlterConfigs, so a grant names only what the role does.

``apply_acls`` creates the bindings a role lacks and, when asked to prune, deletes those of its
principal that the table does not hold. ``gateway_role`` is the filer-gateway template for
another gateway's principal and consumer group (``screening acl add-gateway``); pruning a
principal with no grants removes a gateway's (``remove-gateway``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from pipeline import topics
from pipeline.archive.sources import ARCHIVE_GROUP, ARCHIVED_TOPICS
from pipeline.errors import ConfigurationError, KafkaAccessRefused, KafkaUnavailable
from pipeline.kafka.reader import GROUP_PREFIX as READER_GROUP_PREFIX

__all__ = [
    "FILER_NOTICES",
    "GATEWAY_GROUP",
    "PIPELINE_GROUP",
    "REFERRAL_RESPONSES",
    "REFERRAL_RESPONSES_DLQ",
    "ROLES",
    "TABLE",
    "WORKBENCH_GROUP",
    "Grant",
    "Role",
    "apply_acls",
    "describe_binding",
    "describe_grant",
    "former_gateway",
    "gateway_role",
    "markdown_table",
    "partner_roles",
    "principal_filter",
    "select",
    "topic_names",
    "topic_table",
]

# The topics of the filers' loop (contract v1.1), literal here so that this table does not
# depend on the worker's and the workbench's work in progress; the unit tests check that every
# topic of pipeline/topics.py has its grants, so a renamed topic shows there.
FILER_NOTICES = "customs.filer.notices.v1"
REFERRAL_RESPONSES = "customs.referral.responses.v1"
REFERRAL_RESPONSES_DLQ = "customs.referral.responses.dlq.v1"

# The defaults of SCREENING_APP_ID and SCREENING_WORKBENCH_GROUP (a unit test keeps them equal).
PIPELINE_GROUP = "customs-screening"
WORKBENCH_GROUP = "customs-workbench"
GATEWAY_GROUP = "filer-gateway"
CLUSTER = "kafka-cluster"  # Kafka's name for the one cluster resource

ResourceKind = Literal["topic", "group", "cluster"]
PARTNER_ALIAS = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # as pipeline/c2c/agreements.py's ALIAS

# Kafka's operation names (as kafka-acls.sh spells them) and confluent-kafka's enum values.
OPERATIONS: dict[str, AclOperation] = {
    "All": AclOperation.ALL,
    "Read": AclOperation.READ,
    "Write": AclOperation.WRITE,
    "Create": AclOperation.CREATE,
    "Delete": AclOperation.DELETE,
    "Alter": AclOperation.ALTER,
    "Describe": AclOperation.DESCRIBE,
    "ClusterAction": AclOperation.CLUSTER_ACTION,
    "DescribeConfigs": AclOperation.DESCRIBE_CONFIGS,
    "AlterConfigs": AclOperation.ALTER_CONFIGS,
    "IdempotentWrite": AclOperation.IDEMPOTENT_WRITE,
}
_OPERATION_NAMES = {value: name for name, value in OPERATIONS.items()}
# What Kafka's authorizer lets an operation's grant do besides itself.
_IMPLIED_BY = {
    "Describe": frozenset({"Read", "Write", "Delete", "Alter"}),
    "DescribeConfigs": frozenset({"AlterConfigs"}),
}
_RESOURCE_TYPES: dict[str, ResourceType] = {
    "topic": ResourceType.TOPIC,
    "group": ResourceType.GROUP,
    # librdkafka calls Kafka's CLUSTER resource type (4) BROKER.
    "cluster": ResourceType.BROKER,
}
_RESOURCE_KINDS = {value: name for name, value in _RESOURCE_TYPES.items()}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Grant:
    """Operations allowed on resources of one kind: topics or groups by name, or by prefix."""

    operations: tuple[str, ...]
    resource: ResourceKind
    names: tuple[str, ...]
    why: str
    prefixed: bool = False

    def __post_init__(self) -> None:
        unknown = [op for op in self.operations if op not in OPERATIONS]
        if unknown:
            raise ValueError(f"unknown Kafka operation(s) {unknown}")
        if self.resource == "cluster" and (self.names != (CLUSTER,) or self.prefixed):
            raise ValueError(f"a cluster grant names the one cluster, {CLUSTER!r}")

    def covers(self, resource: ResourceKind, name: str) -> bool:
        if resource != self.resource:
            return False
        if self.prefixed:
            return any(name.startswith(prefix) for prefix in self.names)
        return name in self.names

    def allows(self, operation: str) -> bool:
        granted = set(self.operations)
        return (
            "All" in granted
            or operation in granted
            or bool(granted & _IMPLIED_BY.get(operation, frozenset()))
        )


@dataclass(frozen=True)
class Role:
    """One Kafka user and everything it may do."""

    principal: str  # the user name; Kafka's principal is "User:<principal>"
    who: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def kafka_principal(self) -> str:
        return f"User:{self.principal}"

    def may(self, operation: str, resource: ResourceKind, name: str) -> bool:
        """What Kafka's authorizer would answer for this role (ALLOW grants only)."""
        return any(g.covers(resource, name) and g.allows(operation) for g in self.grants)

    def bindings(self) -> list[AclBinding]:
        found: set[AclBinding] = set()
        for grant in self.grants:
            pattern = (
                ResourcePatternType.PREFIXED if grant.prefixed else ResourcePatternType.LITERAL
            )
            for name in grant.names:
                for operation in grant.operations:
                    found.add(
                        AclBinding(
                            _RESOURCE_TYPES[grant.resource],
                            name,
                            pattern,
                            self.kafka_principal,
                            "*",
                            OPERATIONS[operation],
                            AclPermissionType.ALLOW,
                        )
                    )
        return sorted(found)


def _topics(operations: str, *names: str, why: str, prefixed: bool = False) -> Grant:
    return Grant(tuple(operations.split(",")), "topic", names, why, prefixed)


def _group(operations: str, *names: str, why: str, prefixed: bool = False) -> Grant:
    return Grant(tuple(operations.split(",")), "group", names, why, prefixed)


_READER_GROUPS = "commands that read a whole topic do so in a throwaway group, committing nothing"


def gateway_grants(group: str) -> tuple[Grant, ...]:
    """A filers' gateway: declarations and referral responses in, notices out. It reads no
    assessment, hit or dead letter: a filer must not learn why cargo was selected."""
    return (
        _topics(
            "Write",
            topics.DECLARATIONS,
            REFERRAL_RESPONSES,
            why="its filers' declarations and their answers to referrals",
        ),
        _topics(
            "Read",
            FILER_NOTICES,
            why="notices for its filers: outcomes in plain words, never the reasons",
        ),
        _group("Read", group, why="its own consumer group for the notices"),
    )


ROLES: tuple[Role, ...] = (
    Role(
        "filer-gateway",
        "a filers' gateway (another one: screening acl add-gateway)",
        gateway_grants(GATEWAY_GROUP),
    ),
    Role(
        "screening-pipeline",
        "the screening workers",
        (
            _topics(
                "Read",
                topics.DECLARATIONS,
                topics.AEO_REGISTRY,
                topics.WATCHLIST,
                topics.WATCHLIST_CLEARANCES,
                topics.RULES,
                topics.EXAMINATION_RESULTS,
                why="declarations to screen; rules, reference data, clearances, examinations",
            ),
            _topics(
                "Write",
                topics.ASSESSMENTS,
                topics.HITS,
                topics.DLQ,
                FILER_NOTICES,
                why="its outputs; notices to filers are written, never read",
            ),
            _topics(
                "Write",
                topics.WORKER_STATUS,
                why="each worker's status: the rule set it screens with, the sets it refused",
            ),
            _topics(
                "Write",
                topics.C2C_OUTBOUND,
                why="risk findings for partner administrations, as their agreements allow",
            ),
            _topics(
                "Write",
                topics.C2C_INBOUND_DLQ,
                why="partners' messages it refused, with the reason (every worker, one record)",
            ),
            _topics(
                "Read,Write",
                topics.CONSOLIDATIONS,
                why="house filings by master: each worker writes its own, reads every worker's",
            ),
            _group("Read", PIPELINE_GROUP, why="its consumer group (KEDA reads its lag too)"),
            _topics(
                "All",
                f"{PIPELINE_GROUP}-",
                prefixed=True,
                why="its internal topics, which it creates: the tables' changelogs, the "
                "examination join's hand-off",
            ),
            _group("Read", READER_GROUP_PREFIX, prefixed=True, why=_READER_GROUPS),
        ),
    ),
    Role(
        "screening-workbench",
        "the officers' workbench",
        (
            _topics(
                "Read",
                topics.HITS,
                topics.ASSESSMENTS,
                REFERRAL_RESPONSES,
                why="referrals become cases; filers' answers join them",
            ),
            _group("Read", WORKBENCH_GROUP, why="its consumer group"),
            _topics(
                "Write",
                topics.CASE_EVENTS,
                topics.EXAMINATION_RESULTS,
                topics.WATCHLIST_CLEARANCES,
                FILER_NOTICES,
                REFERRAL_RESPONSES_DLQ,
                why="its outbox: audit trail, examinations, clearances, notices, refused answers",
            ),
            _topics(
                "Write",
                topics.C2C_OUTBOUND,
                why="officers' examination requests and results for partner administrations",
            ),
        ),
    ),
    Role(
        "targeting-officer",
        "targeting officers and their tools",
        (
            _topics("Read", topics.HITS, topics.ASSESSMENTS, why="screening hits, referrals"),
            _group("Read", READER_GROUP_PREFIX, prefixed=True, why=_READER_GROUPS),
            _topics("Write", topics.EXAMINATION_RESULTS, why="examination results"),
        ),
    ),
    Role(
        "risk-analyst",
        "risk analysts",
        (
            _topics(
                "Read,Write",
                topics.RULES,
                why="screening rules publish (it reads the set to retire removed rules)",
            ),
            _topics(
                "Read",
                topics.ASSESSMENTS,
                topics.EXAMINATION_RESULTS,
                why="screening rules effectiveness",
            ),
            _topics(
                "Read",
                topics.WORKER_STATUS,
                why="screening rules status: which rule set each worker screens with",
            ),
            _group("Read", READER_GROUP_PREFIX, prefixed=True, why=_READER_GROUPS),
        ),
    ),
    Role(
        "registry-feed",
        "the AEO registry and watch-list feeds",
        (
            _topics(
                "Read,Write",
                topics.AEO_REGISTRY,
                topics.WATCHLIST,
                why="aeo/watchlist load and sync (sync reads what the topic holds)",
            ),
            _group("Read", READER_GROUP_PREFIX, prefixed=True, why=_READER_GROUPS),
        ),
    ),
    Role(
        "c2c-link",
        "MirrorMaker 2, replicating our findings to partner administrations",
        (
            _topics(
                "Read,Describe",
                topics.C2C_OUTBOUND,
                why="what leaves for partners (docs/customs-to-customs.md: the partner side)",
            ),
        ),
    ),
    Role(
        "screening-archive",
        "the archiver (screening archive run), the audit record kept for years",
        (
            _topics(
                "Read",
                *ARCHIVED_TOPICS,
                why="every filing, assessment, hit, dead letter, examination and partner message",
            ),
            _group("Read", ARCHIVE_GROUP, why="its consumer group"),
        ),
    ),
    Role(
        "customs-it",
        "customs IT, who operate the pipeline",
        (
            _topics(
                "Read",
                topics.DLQ,
                REFERRAL_RESPONSES_DLQ,
                topics.C2C_INBOUND_DLQ,
                why="dead letters: what was wrong with a refused message (personal data)",
            ),
            _topics(
                "Read",
                topics.WORKER_STATUS,
                topics.RULES,
                why="screening rules status: each worker's rule set against the latest published",
            ),
            _group("Read", READER_GROUP_PREFIX, prefixed=True, why=_READER_GROUPS),
            _topics(
                "Create,AlterConfigs,Describe",
                "customs.",
                prefixed=True,
                why="screening topics ensure: creates the topics and sets their configs",
            ),
            _group(
                "Describe",
                PIPELINE_GROUP,
                WORKBENCH_GROUP,
                why="consumer lag (kafka-consumer-groups.sh --describe, runbook)",
            ),
            Grant(("Describe",), "cluster", (CLUSTER,), why="list the consumer groups"),
        ),
    ),
)

TABLE: dict[str, Role] = {role.principal: role for role in ROLES}


def check_name(value: str, what: str) -> str:
    """A principal or group name: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit."""
    if not _NAME.fullmatch(value):
        raise ConfigurationError(
            f"{what} {value!r}: use 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit"
        )
    return value


def gateway_role(principal: str, group: str | None = None) -> Role:
    """The filer-gateway template for another gateway: its own principal and consumer group
    (by default named as the principal)."""
    check_name(principal, "principal")
    group = check_name(group or principal, "group")
    if principal in TABLE:
        raise ConfigurationError(
            f"principal {principal!r} is a role of the table (screening acl show); "
            "a gateway needs a user of its own"
        )
    for role in ROLES:
        if any(g.covers("group", group) for g in role.grants):
            raise ConfigurationError(
                f"group {group!r} is {role.principal}'s; a gateway needs a group of its own"
            )
    return Role(principal, "a filers' gateway", gateway_grants(group))


def former_gateway(principal: str) -> Role:
    """A principal outside the table with no grants: pruning it deletes all its bindings."""
    check_name(principal, "principal")
    if principal in TABLE:
        raise ConfigurationError(
            f"principal {principal!r} is a role of the table; "
            "change pipeline/kafka/acls.py and run screening acl apply --prune"
        )
    return Role(principal, "a former filers' gateway")


def partner_roles(alias: str) -> list[Role]:
    """Read on a partner's inbound topic, ``<alias>.customs.c2c.outbound.v1`` (its name depends
    on the deployment's MirrorMaker 2 alias), for the workbench and the pipeline, and on its
    shared AEO registry, ``<alias>.customs.aeo.registry.v1``, for the pipeline."""
    if not PARTNER_ALIAS.fullmatch(alias):
        raise ConfigurationError(
            f"partner alias {alias!r}: use a-z, 0-9 and -, as in the sharing agreement's `alias`"
        )
    grant = _topics(
        "Read",
        topics.partner_inbound_topic(alias),
        why="a partner administration's messages, replicated by MirrorMaker 2",
    )
    # A shared AEO registry (the agreement's `aeo_registry`) is read by the workers only.
    registry = _topics(
        "Read",
        topics.partner_aeo_topic(alias),
        why="a partner's AEO registry, shared under mutual recognition, replicated likewise",
    )
    return [
        Role("screening-workbench", TABLE["screening-workbench"].who, (grant,)),
        Role("screening-pipeline", TABLE["screening-pipeline"].who, (grant, registry)),
        Role("screening-archive", TABLE["screening-archive"].who, (grant,)),
    ]


def select(principals: Sequence[str]) -> list[Role]:
    """The table's roles of these principals, all of them when none is named."""
    if not principals:
        return list(ROLES)
    unknown = [p for p in principals if p not in TABLE]
    if unknown:
        raise ConfigurationError(
            f"no role {', '.join(map(repr, unknown))} in the table; "
            f"the roles are {', '.join(TABLE)}"
        )
    return [TABLE[p] for p in dict.fromkeys(principals)]


# --- words ------------------------------------------------------------------------------------


def describe_grant(grant: Grant, code: bool = False) -> str:
    """``topics customs.a, customs.b``, ``groups prefixed screening-reader-`` or ``the
    cluster``; with ``code``, the names in backquotes (Markdown)."""
    if grant.resource == "cluster":
        return "the cluster"
    kind = f"{grant.resource}s" if len(grant.names) > 1 else grant.resource
    prefixed = " prefixed" if grant.prefixed else ""
    names = (f"`{n}`" if code else n for n in grant.names)
    return f"{kind}{prefixed} {', '.join(names)}"


def describe_binding(binding: AclBinding) -> str:
    """One line: ``User:x ALLOW Write on topic customs.declarations.v1``."""
    # The binding's fields are confluent-kafka's enums once it is made.
    restype = ResourceType(binding.restype)
    operation = AclOperation(binding.operation)
    kind = _RESOURCE_KINDS.get(restype, restype.name.lower())
    prefixed = " prefixed" if binding.resource_pattern_type == ResourcePatternType.PREFIXED else ""
    host = "" if binding.host == "*" else f" from {binding.host}"
    permission = AclPermissionType(binding.permission_type).name
    does = _OPERATION_NAMES.get(operation, operation.name)
    return f"{binding.principal} {permission} {does} on {kind}{prefixed} {binding.name}{host}"


def markdown_table(roles: Iterable[Role] = ROLES) -> str:
    """The table as Markdown, as SECURITY.md shows it (``screening acl show --markdown``)."""
    lines = ["| principal | may | on | why |", "|---|---|---|---|"]
    for role in roles:
        for grant in role.grants:
            operations = ", ".join(grant.operations)
            where = describe_grant(grant, code=True)
            lines.append(f"| `{role.principal}` | {operations} | {where} | {grant.why} |")
    return "\n".join(lines) + "\n"


def topic_names(roles: Iterable[Role] = ROLES) -> list[str]:
    """Every topic of pipeline/topics.py, then any other the roles name literally."""
    names = [spec.name for spec in topics.TOPICS]
    for role in roles:
        for grant in role.grants:
            if grant.resource == "topic" and not grant.prefixed:
                names += [n for n in grant.names if n not in names]
    return names


def topic_table(roles: Sequence[Role] = ROLES) -> str:
    """Who may write and who may read each topic, as Markdown (SECURITY.md's threat model)."""
    lines = ["| topic | who may write | who may read |", "|---|---|---|"]
    for name in topic_names(roles):
        writers = [f"`{r.principal}`" for r in roles if r.may("Write", "topic", name)]
        readers = [f"`{r.principal}`" for r in roles if r.may("Read", "topic", name)]
        lines.append(f"| `{name}` | {', '.join(writers) or '-'} | {', '.join(readers) or '-'} |")
    return "\n".join(lines) + "\n"


# --- applying them ----------------------------------------------------------------------------


@dataclass
class AclChanges:
    created: list[AclBinding] = field(default_factory=list)
    present: list[AclBinding] = field(default_factory=list)
    deleted: list[AclBinding] = field(default_factory=list)
    # Bindings of the principals that the table does not hold, left because not pruning.
    extra: list[AclBinding] = field(default_factory=list)


def principal_filter(principal: str) -> AclBindingFilter:
    # None matches any name and any host (confluent-kafka's stubs say str).
    return AclBindingFilter(
        ResourceType.ANY,
        None,  # type: ignore[arg-type]
        ResourcePatternType.ANY,
        principal,
        None,  # type: ignore[arg-type]
        AclOperation.ANY,
        AclPermissionType.ANY,
    )


def _exact_filter(binding: AclBinding) -> AclBindingFilter:
    return AclBindingFilter(
        binding.restype,
        binding.name,
        binding.resource_pattern_type,
        binding.principal,
        binding.host,
        binding.operation,
        binding.permission_type,
    )


def _result(future: Future[Any], doing: str, where: str) -> Any:
    try:
        return future.result()
    except KafkaException as exc:
        error: KafkaError = exc.args[0]
        code = error.code()
        if code == KafkaError.SECURITY_DISABLED:
            raise ConfigurationError(
                f"Kafka at {where} has no authorizer: set authorizer.class.name="
                "org.apache.kafka.metadata.authorizer.StandardAuthorizer (SECURITY.md)"
            ) from exc
        if code == KafkaError.CLUSTER_AUTHORIZATION_FAILED:
            raise KafkaAccessRefused(
                f"Kafka at {where} does not let this user {doing}: run as a super user "
                "(super.users) or one allowed Alter and Describe on the cluster"
            ) from exc
        raise KafkaUnavailable(f"cannot {doing} on Kafka at {where}: {error.str()}") from exc


def apply_acls(
    admin: AdminClient,
    roles: Sequence[Role],
    *,
    prune: bool = False,
    dry_run: bool = False,
    where: str = "",
) -> AclChanges:
    """Create the bindings these roles lack; with ``prune``, delete those of their principals
    that the roles do not hold. ``dry_run`` only says what it would do."""
    changes = AclChanges()
    wanted: dict[str, set[AclBinding]] = {}
    for role in roles:
        wanted.setdefault(role.kafka_principal, set()).update(role.bindings())
    for principal, bindings in wanted.items():
        future = admin.describe_acls(principal_filter(principal), request_timeout=_TIMEOUT_S)
        existing = set(_result(future, "describe ACLs", where))
        changes.present += sorted(bindings & existing)
        changes.created += sorted(bindings - existing)
        surplus = sorted(existing - bindings)
        if prune:
            changes.deleted += surplus
        else:
            changes.extra += surplus
    if dry_run:
        return changes
    if changes.created:
        created = admin.create_acls(changes.created, request_timeout=_TIMEOUT_S)
        for future in created.values():
            _result(future, "create ACLs", where)
    if changes.deleted:
        filters = [_exact_filter(b) for b in changes.deleted]
        deleted = admin.delete_acls(filters, request_timeout=_TIMEOUT_S)
        for future in deleted.values():
            _result(future, "delete ACLs", where)
    return changes
