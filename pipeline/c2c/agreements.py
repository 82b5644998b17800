"""Sharing agreements with partner administrations: one reviewed YAML file per partner.

An agreement says which kinds of message may leave for the partner, at which levels, in which
categories and with which of the PartnerMessage's optional fields, and which kinds are accepted
from it. Loading checks every file and reports every problem with file, line and reason, as the
rule loader does; fields that must never leave (rule ids, scores, officers' notes, personal
data) are refused by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from pipeline.topics import partner_inbound_topic
from pipeline.yaml_documents import DocumentsRefused, Problem, checked_date, line_of, read_mapping

__all__ = [
    "CATEGORIES",
    "OPTIONAL",
    "REQUIRED",
    "SEND_KEYS",
    "SHAREABLE_FIELDS",
    "Agreement",
    "Agreements",
    "AgreementsInvalid",
    "load_agreements",
]

KINDS = ("RISK_FINDING", "EXAMINATION_REQUEST", "EXAMINATION_RESULT")
LEVELS = ("HIGH", "MEDIUM")
CATEGORIES = ("SECURITY", "SANCTIONS", "IPR", "DRUGS")
RESULTS = ("SEIZURE", "IRREGULARITY", "NO_FINDING", "NOT_EXAMINED")
# The referrals that may become a finding, and the level each maps to unless the agreement
# says otherwise (`levels_by_outcome`).
DEFAULT_LEVELS: Mapping[str, str] = {"DNL": "HIGH", "HRCM": "MEDIUM"}
# The PartnerMessage's optional fields an agreement may allow; the others are always sent.
SHAREABLE_FIELDS = ("transport_document_number", "container_ids", "summary")

_SCORES = "scores never leave"
_RULES = "rule ids and what rules matched never leave"
_NOTES = "officers' notes never leave"
_PERSONAL = "personal data (party names, addresses, contacts) never leaves"
_LISTS = "watch-list entries never leave"
# Names a reviewer might be tempted to allow; each is refused with the reason.
NEVER_SHARED: Mapping[str, str] = {
    **dict.fromkeys(("score", "scores", "priority"), _SCORES),
    **dict.fromkeys(
        ("rule_id", "rule_ids", "rule_version", "ruleset_version", "matches", "shadow_matches"),
        _RULES,
    ),
    **dict.fromkeys(("evidence", "reason"), _RULES),
    **dict.fromkeys(
        ("note", "notes", "officer_note", "officer_notes", "comment", "comments", "officer_ref"),
        _NOTES,
    ),
    **dict.fromkeys(
        (
            "parties",
            "party",
            "declarant",
            "consignor",
            "consignee",
            "notify_party",
            "carrier",
            "name",
            "names",
            "party_names",
            "address",
            "addresses",
            "contact",
            "phone",
            "email",
            "ids",
        ),
        _PERSONAL,
    ),
    **dict.fromkeys(("watchlist", "watchlist_entry", "entry_id", "list"), _LISTS),
}

REQUIRED = (
    "partner",
    "alias",
    "administration",
    "agreement",
    "valid_from",
    "review_by",
    "owner",
    "send",
    "receive",
    "handling",
    "aeo_registry",
)
OPTIONAL = ("valid_to", "levels_by_outcome", "description")
SEND_KEYS = ("levels", "categories", "fields", "results")

COUNTRY = re.compile(r"^[A-Z]{2}$(?!\n)")
# MirrorMaker 2 prefixes the partner's topics with the alias: it must be a topic-name part.
ALIAS = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$(?!\n)")
HANDLING = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,63}$(?!\n)")


class AgreementsInvalid(DocumentsRefused):
    """The sharing agreements have errors; each names its file and line. Fix them and validate
    again: until then nothing is shared."""

    what = "sharing agreements"


@dataclass(frozen=True, slots=True)
class SendTerms:
    """What one kind of message may carry to the partner."""

    kind: str
    levels: frozenset[str]
    categories: frozenset[str]
    fields: frozenset[str]
    results: frozenset[str]


@dataclass(frozen=True, slots=True)
class Agreement:
    partner: str  # ISO 3166-1 alpha-2
    alias: str  # the partner cluster's MirrorMaker 2 alias
    administration: str
    reference: str  # the agreement's own reference, e.g. "EU-CN SSTL 2023"
    valid_from: date
    valid_to: date | None
    review_by: date
    owner: str
    send: Mapping[str, SendTerms]
    receive: frozenset[str]
    handling: str
    aeo_registry: bool
    levels_by_outcome: Mapping[str, str]
    source: str = ""

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def terms(self, kind: str) -> SendTerms | None:
        return self.send.get(kind)

    def accepts(self, kind: str) -> bool:
        return kind in self.receive

    @property
    def inbound_topic(self) -> str:
        return partner_inbound_topic(self.alias)


@dataclass(frozen=True, slots=True)
class Agreements:
    agreements: tuple[Agreement, ...]  # sorted by partner

    @property
    def by_partner(self) -> Mapping[str, Agreement]:
        return {a.partner: a for a in self.agreements}

    @property
    def by_alias(self) -> Mapping[str, Agreement]:
        return {a.alias: a for a in self.agreements}

    def __iter__(self) -> Iterator[Agreement]:
        return iter(self.agreements)

    def __len__(self) -> int:
        return len(self.agreements)


def load_agreements(directory: Path) -> Agreements:
    """Load and check every ``*.yaml``/``*.yml`` file in ``directory`` (no partner: none)."""
    if not directory.is_dir():
        raise AgreementsInvalid([Problem(str(directory), None, "not a folder")])
    problems: list[Problem] = []
    agreements: list[tuple[Agreement, yaml.Node]] = []
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    for path in files:
        loaded = read_mapping(path, problems, "an agreement file holds one mapping (partner, ...)")
        if loaded is not None:
            agreement = parse_agreement(str(path), *loaded, problems)
            if agreement is not None:
                agreements.append((agreement, loaded[1]))
    _check_unique(agreements, problems)
    if problems:
        # In the order of the files and of their lines, as a reviewer reads them.
        raise AgreementsInvalid(sorted(problems, key=lambda p: (p.source, p.line or 0)))
    return Agreements(tuple(sorted((a for a, _ in agreements), key=lambda a: a.partner)))


def parse_agreement(
    source: str, document: Mapping[str, Any], node: yaml.Node | None, problems: list[Problem]
) -> Agreement | None:
    """Check one agreement document; add its problems and return None if it has any."""
    before = len(problems)

    def problem(path: list[str | int], reason: str) -> None:
        problems.append(Problem(source, line_of(node, path), reason))

    for key in REQUIRED:
        if key not in document:
            problem([], f"missing `{key}`")
    for key in document:
        if key not in REQUIRED and key not in OPTIONAL:
            problem([key], f"unknown key `{key}` (allowed: {', '.join(REQUIRED + OPTIONAL)})")
    if len(problems) > before:
        return None

    partner = document["partner"]
    if isinstance(partner, bool):
        # YAML 1.1 reads NO (Norway) as false.
        problem(["partner"], "`partner` is read as true/false: quote the country code ('NO')")
    elif not isinstance(partner, str) or not COUNTRY.match(partner):
        problem(["partner"], "`partner` is an ISO 3166-1 alpha-2 country code, e.g. CN")
    alias = document["alias"]
    if not isinstance(alias, str) or not ALIAS.match(alias):
        problem(["alias"], "`alias` is the MirrorMaker 2 cluster alias: a-z, 0-9 and -")
    for key in ("administration", "agreement", "owner"):
        if not isinstance(document[key], str) or not document[key].strip():
            problem([key], f"`{key}` is non-empty text")
    handling = document["handling"]
    if not isinstance(handling, str) or not HANDLING.match(handling):
        problem(["handling"], "`handling` is a code of A-Z, 0-9 and -, e.g. C2C-RESTRICTED")
    if not isinstance(document["aeo_registry"], bool):
        problem(["aeo_registry"], "`aeo_registry` is true or false")
    valid_from = checked_date(document, "valid_from", problem, required=True)
    valid_to = checked_date(document, "valid_to", problem)
    review_by = checked_date(document, "review_by", problem, required=True)
    if valid_from and valid_to and valid_from > valid_to:
        problem(["valid_to"], "`valid_to` is before `valid_from`")
    send = _send(document["send"], problem)
    receive = _kinds(document["receive"], ["receive"], problem)
    levels_by_outcome = _levels_by_outcome(document.get("levels_by_outcome"), problem)
    if len(problems) > before or valid_from is None or review_by is None:
        return None
    return Agreement(
        partner=partner,
        alias=alias,
        administration=document["administration"].strip(),
        reference=document["agreement"].strip(),
        valid_from=valid_from,
        valid_to=valid_to,
        review_by=review_by,
        owner=document["owner"].strip(),
        send=send,
        receive=receive,
        handling=handling,
        aeo_registry=document["aeo_registry"],
        levels_by_outcome=levels_by_outcome,
        source=source,
    )


def _send(value: Any, problem: Any) -> dict[str, SendTerms]:
    if value is None:
        return {}  # receive only
    if not isinstance(value, Mapping):
        problem(["send"], "`send` maps a kind (" + ", ".join(KINDS) + ") to what it may carry")
        return {}
    terms: dict[str, SendTerms] = {}
    for kind, spec in value.items():
        path: list[str | int] = ["send", kind]
        if kind not in KINDS:
            problem(path, f"unknown kind `{kind}` (one of {', '.join(KINDS)})")
            continue
        if not isinstance(spec, Mapping):
            problem(path, f"`send.{kind}` is a mapping of {', '.join(SEND_KEYS)}")
            continue
        for key in spec:
            if key not in SEND_KEYS:
                problem([*path, key], f"unknown key `{key}` (allowed: {', '.join(SEND_KEYS)})")
        graded = kind != "EXAMINATION_RESULT"  # a result reports what was found, not a level
        for key in ("levels", "categories"):
            if graded and key not in spec:
                problem(path, f"`send.{kind}` needs `{key}`")
            elif not graded and key in spec:
                problem([*path, key], f"an examination result carries no `{key}`")
        if graded and "results" in spec:
            problem([*path, "results"], "`results` belongs to EXAMINATION_RESULT only")
        if "fields" not in spec:
            problem(path, f"`send.{kind}` needs `fields` (may be empty: [])")
        terms[kind] = SendTerms(
            kind=kind,
            levels=_choices(spec.get("levels", []), LEVELS, [*path, "levels"], problem),
            categories=_choices(
                spec.get("categories", []), CATEGORIES, [*path, "categories"], problem
            ),
            fields=_fields(spec.get("fields", []), [*path, "fields"], problem),
            results=_choices(
                spec.get("results", [] if graded else list(RESULTS)),
                RESULTS,
                [*path, "results"],
                problem,
            ),
        )
    return terms


def _choices(
    value: Any, allowed: tuple[str, ...], path: list[str | int], problem: Any
) -> frozenset[str]:
    name = ".".join(str(p) for p in path)
    if not isinstance(value, list):
        problem(path, f"`{name}` is a list of {', '.join(allowed)}")
        return frozenset()
    for index, item in enumerate(value):
        if item not in allowed:
            problem([*path, index], f"`{item}` in `{name}` is not one of {', '.join(allowed)}")
    return frozenset(v for v in value if v in allowed)


def _fields(value: Any, path: list[str | int], problem: Any) -> frozenset[str]:
    if not isinstance(value, list):
        problem(path, f"`fields` is a list of {', '.join(SHAREABLE_FIELDS)} (or [])")
        return frozenset()
    for index, item in enumerate(value):
        if isinstance(item, str) and item in NEVER_SHARED:
            problem([*path, index], f"`{item}` may not be shared: {NEVER_SHARED[item]}")
        elif item not in SHAREABLE_FIELDS:
            problem(
                [*path, index],
                f"`{item}` is not a field an agreement can allow ({', '.join(SHAREABLE_FIELDS)})",
            )
    return frozenset(v for v in value if v in SHAREABLE_FIELDS)


def _kinds(value: Any, path: list[str | int], problem: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    return _choices(value, KINDS, path, problem)


def _levels_by_outcome(value: Any, problem: Any) -> Mapping[str, str]:
    if value is None:
        return DEFAULT_LEVELS
    if not isinstance(value, Mapping):
        problem(["levels_by_outcome"], "`levels_by_outcome` maps DNL and HRCM to HIGH or MEDIUM")
        return DEFAULT_LEVELS
    levels = dict(DEFAULT_LEVELS)
    for outcome, level in value.items():
        if outcome not in DEFAULT_LEVELS:
            problem(
                ["levels_by_outcome", outcome],
                f"`{outcome}` cannot be shared: only DNL and HRCM referrals become findings",
            )
        elif level not in LEVELS:
            problem(["levels_by_outcome", outcome], f"`{level}` is not one of {', '.join(LEVELS)}")
        else:
            levels[outcome] = level
    return levels


def _check_unique(agreements: list[tuple[Agreement, yaml.Node]], problems: list[Problem]) -> None:
    """One file per partner, and one partner per MirrorMaker 2 alias."""
    seen: dict[tuple[str, str], str] = {}
    for agreement, node in agreements:
        for key, value in (("partner", agreement.partner), ("alias", agreement.alias)):
            first = seen.setdefault((key, value), agreement.source)
            if first != agreement.source:
                problems.append(
                    Problem(
                        agreement.source, line_of(node, [key]), f"{key} {value} is also in {first}"
                    )
                )
