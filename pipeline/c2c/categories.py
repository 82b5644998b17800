"""The category a partner is told of, from the tags of the rules that matched.

Rules carry tags (``tags: [watch-list]`` in their files); this table turns each tag into a
category a partner understands, or into none for tags about the quality of the filing, which
are ours to follow up and tell a partner nothing. A tag the table does not know counts as
SECURITY, so a new kind of rule is never left out of a finding. A rule may also be tagged with a
category itself (``ipr``, ``drugs``, ``sanctions``, ``security``) to be more precise than its
other tags: a counterfeit-prone HS code tagged ``[hs-of-concern, ipr]`` is reported as IPR.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pipeline.c2c.agreements import CATEGORIES
from pipeline.contract.models import Match
from pipeline.rules.model import Rule

__all__ = ["TAG_CATEGORIES", "categories_of", "rule_tags"]

UNKNOWN = "SECURITY"

TAG_CATEGORIES: Mapping[str, str | None] = {
    # A rule tagged with a category is reported as that category.
    **{category.lower(): category for category in CATEGORIES},
    "watch-list": "SANCTIONS",
    "hs-of-concern": "SECURITY",
    "dangerous-goods": "SECURITY",
    "intelligence": "SECURITY",
    "routing": "SECURITY",
    "vessel": "SECURITY",
    "container": "SECURITY",
    "consolidation": "SECURITY",
    "party-profile": "SECURITY",
    # The quality of the filing: followed up with the filer, not a partner's business.
    "vague-description": None,
    "hs-code-quality": None,
    "totals": None,
    "value": None,
    "late-filing": None,
    "amendments": None,
}


def categories_of(
    matches: Iterable[Match], tags_by_rule: Mapping[str, Sequence[str]]
) -> tuple[str, ...]:
    """The categories of a finding, in the order of ``CATEGORIES``; SECURITY when no tag says.

    A category tag (``ipr``) replaces the rule's general tags' categories, so that a
    counterfeit rule is IPR and not also SECURITY.
    """
    found: set[str] = set()
    for match in matches:
        tags = [str(tag).lower() for tag in tags_by_rule.get(match.rule_id, ())]
        precise = {TAG_CATEGORIES[t] for t in tags if t.upper() in CATEGORIES}
        if precise:
            found.update(c for c in precise if c is not None)
            continue
        found.update(c for t in tags if (c := TAG_CATEGORIES.get(t, UNKNOWN)) is not None)
        if not tags:
            found.add(UNKNOWN)
    ordered = tuple(c for c in CATEGORIES if c in found)
    return ordered or (UNKNOWN,)


def rule_tags(rules: Iterable[Rule]) -> dict[str, tuple[str, ...]]:
    """Each rule's tags as written in its file, by rule id (for ``categories_of``)."""
    tags: dict[str, tuple[str, ...]] = {}
    for rule in rules:
        written = rule.document.get("tags") or ()
        tags[rule.id] = tuple(str(t) for t in written) if isinstance(written, list) else ()
    return tags
