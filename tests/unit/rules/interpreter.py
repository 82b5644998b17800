"""A plain interpreter of the rule language, one declaration at a time.

Written from ``docs/rules.md`` as a reference for the compiled batch evaluation: it walks the
parsed condition tree over the decoded declaration in plain Python, with no frames and no
Polars. Only the parsed tree (``pipeline.rules.conditions``), the text normalisation and the
field catalogue are shared with the pipeline.

Where the document leaves a detail open, this interpreter decides as follows:

* Facts are rounded as they are shown to officers: hours to 2 decimals, masses to 3 (also the
  mass per package), discrepancies to 4. A sum over the goods items counts the items that give
  a value and has no value when none does; a discrepancy has no value when the total is 0.
* Blank text (only spaces) is a value, except for ``exists``, which asks for visible text.
* ``matches`` finds the pattern anywhere in the text; ``$`` is the end of the text.
* A field named in the reason is evidence too, as if it were tested (the officer reads it in
  the reason): a declaration field always, an item field for the items of every ``any_``/
  ``all_`` of its kind outside a ``not``.
* Evidence paths: a declaration field under its own name (``transport.mode``, ``loading_country``);
  an item field under the item's path (``goods[1]``, ``equipment[0]``, ``consignee``,
  ``transport.carrier``) and the field's name, with a party's address fields under
  ``address.``. Times are written in UTC with a ``Z``.
* ``valid_from``/``valid_to`` are compared with the date of ``submitted_at`` as filed.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from pipeline.contract.models import Declaration, Match, Party, Transport
from pipeline.reference.ports import usual_sailing_hours
from pipeline.rules.conditions import (
    AllOf,
    AnyOf,
    FieldTest,
    Node,
    Not,
    Quantified,
    normalise_text,
)
from pipeline.rules.conditions import (
    Test as OperatorTest,
)
from pipeline.rules.fields import FIELDS, Kind, Scope
from pipeline.rules.model import Rule
from pipeline.screening.outcome import Thresholds, decide

Values = dict[str, Any]
Facts = Mapping[str, Mapping[str, Any]]

ROLES = ("declarant", "consignor", "consignee", "carrier", "notify_party")
RELIEF_ROLES = ("consignor", "consignee")
AEO_SCORE_REDUCTION = 20.0
ADDRESS_FIELDS = frozenset({"street", "city", "postcode", "country", "po_box"})
NO_VALUE_PASSES = frozenset({"not_equals", "not_in", "not_in_list"})


def _letter_values() -> dict[str, int]:
    """ISO 6346 letter values: from 10 up, leaving out the multiples of 11."""
    values: dict[str, int] = {}
    number = 10
    for letter in string.ascii_uppercase:
        if number % 11 == 0:
            number += 1
        values[letter] = number
        number += 1
    return values


LETTER_VALUES = _letter_values()
CONTAINER_NUMBER = re.compile(r"[A-Z]{3}[UJZ][0-9]{7}")


@dataclass(frozen=True, slots=True)
class Item:
    """One goods item, party or container: where it is in the declaration, and its values."""

    path: str
    values: Values


@dataclass(frozen=True, slots=True)
class Subject:
    """A declaration as the rules see it."""

    submitted_on: date
    values: Values
    items: Mapping[Scope, list[Item]]


@dataclass(frozen=True, slots=True)
class Result:
    """What the interpreter finds for one declaration."""

    matches: list[Match] = field(default_factory=list)
    shadow_matches: list[Match] = field(default_factory=list)
    score_reduction: float = 0.0

    def outcome(self, thresholds: Thresholds | None = None) -> tuple[str, float]:
        return decide(self.matches, self.score_reduction, thresholds or Thresholds())

    def evidence(self) -> dict[str, dict[str, Any]]:
        """Evidence by rule id, active and shadow matches alike."""
        return {m.rule_id: m.evidence for m in self.matches + self.shadow_matches}


# --- container numbers -----------------------------------------------------------------------


def container_number_valid(number: str) -> bool:
    """ISO 6346: owner code, category U/J/Z, six-digit serial and a check digit; spaces and
    letter case do not count."""
    compact = "".join(number.split(" ")).strip().upper()
    if not CONTAINER_NUMBER.fullmatch(compact):
        return False
    total = sum(
        (LETTER_VALUES[c] if c.isalpha() else int(c)) << i for i, c in enumerate(compact[:10])
    )
    return total % 11 % 10 == int(compact[10])


# --- the values the rules test -----------------------------------------------------------------


def subject_of(declaration: Declaration, facts: Facts | None = None) -> Subject:
    facts = facts or {}
    return Subject(
        submitted_on=declaration.submitted_at.astimezone(UTC).date(),
        values=_declaration_values(declaration),
        items={
            Scope.GOODS: _goods(declaration),
            Scope.PARTY: _parties(declaration, facts),
            Scope.CONTAINER: _containers(declaration),
        },
    )


def _imo_valid(imo: str) -> bool:
    """Seven digits after an optional "IMO", the last the first six weighted 7..2, mod 10."""
    text = imo.strip()
    if text[:3].upper() == "IMO" and not text[3:4].isalpha():
        text = text[3:]
    digits = "".join(c for c in text.lstrip(" .:#-") if c not in " .-\t")
    if len(digits) != 7 or not all(c in string.digits for c in digits):
        return False
    weighted = sum(int(c) * (7 - i) for i, c in enumerate(digits[:6]))
    return weighted % 10 == int(digits[6])


def _declaration_values(d: Declaration) -> Values:
    t, doc, totals = d.transport, d.transport_document, d.totals
    loading = t.loading_location if t else None
    discharge = t.discharge_location if t else None
    goods = d.goods or []
    masses = [g.gross_mass_kg for g in goods if g.gross_mass_kg is not None]
    packages = [g.packages for g in goods if g.packages is not None]
    goods_mass = round(sum(masses), 3) if masses else None
    goods_packages = sum(packages) if packages else None
    total_mass = totals.gross_mass_kg if totals else None
    total_packages = totals.packages if totals else None
    estimated_loading = t.estimated_loading_at if t else None
    arrival = t.estimated_arrival_at if t else None
    best_at, basis, sailing = _best_loading(t)
    vessel = t.vessel if t else None
    imo = vessel.imo if vessel else None
    return {
        "declaration_id": d.declaration_id,
        "transport.vessel.name": vessel.name if vessel else None,
        "transport.vessel.imo": imo,
        "transport.vessel.flag": vessel.flag if vessel else None,
        # Reference facts: none without a watch list.
        "transport.vessel.watchlist_action": None,
        "transport.vessel.watchlist_list": None,
        "transport.vessel.watchlist_entry": None,
        "transport.vessel.imo_valid": _imo_valid(imo) if imo else None,
        "version": d.version,
        "message_type": d.message_type,
        "submitted_at": d.submitted_at,
        "transport.mode": t.mode if t else None,
        "transport.conveyance_ref": t.conveyance_ref if t else None,
        "transport.loading_location": loading,
        "transport.discharge_location": discharge,
        "transport.routing_countries": list(t.routing_countries) if t else [],
        "transport.estimated_loading_at": estimated_loading,
        "transport.estimated_arrival_at": t.estimated_arrival_at if t else None,
        "transport_document.type": doc.type if doc else None,
        "transport_document.number": doc.number if doc else None,
        "transport_document.master_number": doc.master_number if doc else None,
        # Reference facts: no other house known without the consolidations' copy.
        "master_house_count": None,
        "master_referral_outcome": None,
        "master_referred_declarations": None,
        # Reference facts: no partner's finding without the partners' topics.
        "partner_finding_level": None,
        "partner_finding_partner": None,
        "partner_finding_matched_by": None,
        "partner_finding_categories": [],
        "totals.packages": total_packages,
        "totals.gross_mass_kg": total_mass,
        "loading_country": loading[:2] if loading else None,
        "discharge_country": discharge[:2] if discharge else None,
        "hours_before_loading": (
            round((best_at - d.submitted_at).total_seconds() / 3600, 2)
            if best_at is not None
            else None
        ),
        "transport.estimated_departure_at": t.estimated_departure_at if t else None,
        "best_loading_at": best_at,
        "loading_time_basis": basis,
        "usual_sailing_hours": sailing,
        "hours_loading_to_arrival": (
            round((arrival - estimated_loading).total_seconds() / 3600, 2)
            if arrival is not None and estimated_loading is not None
            else None
        ),
        "goods_count": len(goods),
        "goods_mass_kg": goods_mass,
        "goods_packages": goods_packages,
        "mass_discrepancy": _discrepancy(total_mass, goods_mass),
        "packages_discrepancy": _discrepancy(total_packages, goods_packages),
        "container_count": len(d.equipment),
    }


def _best_loading(t: Transport | None) -> tuple[datetime | None, str | None, float | None]:
    if t is None:
        return None, None, None
    if t.estimated_loading_at is not None:
        return t.estimated_loading_at, "the filed loading time", None
    if t.estimated_departure_at is not None:
        return t.estimated_departure_at, "the filed departure time", None
    if t.mode == "SEA" and t.estimated_arrival_at and t.loading_location and t.discharge_location:
        hours = usual_sailing_hours(t.loading_location, t.discharge_location)
        if hours is not None:
            at = t.estimated_arrival_at - timedelta(hours=hours)
            return at, "the arrival time less the usual sailing time", hours
    return None, None, None


def _discrepancy(total: float | None, items: float | None) -> float | None:
    if total is None or items is None or total == 0:
        return None
    return round(abs(total - items) / total, 4)


def _goods(d: Declaration) -> list[Item]:
    items = []
    for index, g in enumerate(d.goods or []):
        items.append(
            Item(
                f"goods[{index}]",
                {
                    "seq": g.seq,
                    "hs_code": g.hs_code,
                    "hs_chapter": g.hs_code[:2] if g.hs_code else None,
                    "hs_heading": g.hs_code[:4] if g.hs_code else None,
                    "description": g.description,
                    "packages": g.packages,
                    "package_type": g.package_type,
                    "gross_mass_kg": g.gross_mass_kg,
                    "origin_country": g.origin_country,
                    "un_number": g.un_number,
                    "value_amount": g.value.amount if g.value else None,
                    "value_currency": g.value.currency if g.value else None,
                    "mass_per_package_kg": (
                        round(g.gross_mass_kg / g.packages, 3)
                        if g.gross_mass_kg is not None and g.packages
                        else None
                    ),
                },
            )
        )
    return items


def party_facts(role: str, party: Party, facts: Facts) -> Values:
    """Reference facts of one party: nothing verified unless the facts say otherwise."""
    claimed = any(i.scheme == "AEO" for i in party.ids)
    return {
        "aeo_status": "UNVERIFIED" if claimed else "NONE",
        "aeo_security": False,
        **facts.get(role, {}),
    }


def parties(d: Declaration) -> list[tuple[str, Party]]:
    present = {
        "declarant": d.declarant,
        "consignor": d.consignor,
        "consignee": d.consignee,
        "carrier": d.transport.carrier if d.transport else None,
        "notify_party": d.notify_party,
    }
    return [(role, p) for role in ROLES if (p := present[role]) is not None]


def _parties(d: Declaration, facts: Facts) -> list[Item]:
    items = []
    for role, party in parties(d):
        address = party.address
        known = party_facts(role, party, facts)
        values: Values = {
            "role": role,
            "name": party.name,
            "street": address.street if address else None,
            "city": address.city if address else None,
            "postcode": address.postcode if address else None,
            "country": address.country if address else None,
            "po_box": address.po_box if address else None,
            "aeo_claimed": any(i.scheme == "AEO" for i in party.ids),
        }
        for name in (
            "aeo_status",
            "aeo_type",
            "aeo_security",
            "watchlist_action",
            "watchlist_list",
            "watchlist_entry",
            "watchlist_match",
            "watchlist_score",
        ):
            values[name] = known.get(name)
        items.append(Item("transport.carrier" if role == "carrier" else role, values))
    return items


def _containers(d: Declaration) -> list[Item]:
    return [
        Item(
            f"equipment[{index}]",
            {
                "container_id": unit.container_id,
                "check_digit_valid": container_number_valid(unit.container_id),
                "seal_count": len(unit.seals),
            },
        )
        for index, unit in enumerate(d.equipment)
    ]


# --- conditions ----------------------------------------------------------------------------------


def holds(
    node: Node, values: Values, subject: Subject, lists: Mapping[str, frozenset[str]]
) -> bool:
    if isinstance(node, FieldTest):
        return all(passes(t, values.get(node.field.name), lists) for t in node.tests)
    if isinstance(node, AllOf):
        return all(holds(i, values, subject, lists) for i in node.items)
    if isinstance(node, AnyOf):
        return any(holds(i, values, subject, lists) for i in node.items)
    if isinstance(node, Not):
        return not holds(node.item, values, subject, lists)
    if isinstance(node, Quantified):
        found = [holds(node.item, i.values, subject, lists) for i in subject.items[node.scope]]
        return all(found) if node.every else any(found)
    raise TypeError(node)


def has_value(value: Any, kind: Kind) -> bool:
    if value is None:
        return False
    if kind is Kind.TEXT:
        return normalise_text(value) != ""
    if kind is Kind.TEXT_LIST:
        return len(value) > 0
    return True


def passes(test: OperatorTest, value: Any, lists: Mapping[str, frozenset[str]]) -> bool:
    kind, op, operand = test.field.kind, test.op, test.value
    if op == "exists":
        return has_value(value, kind) is operand
    if value is None or (kind is Kind.TEXT_LIST and not value):
        return op in NO_VALUE_PASSES
    if kind is Kind.TEXT_LIST:
        wanted = lists[operand] if op == "includes_any_in_list" else frozenset(operand)
        return any(normalise_text(v) in wanted for v in value)
    if op == "matches":
        return _regex(operand).search(value) is not None
    if kind is Kind.TEXT:
        return _text_passes(op, operand, normalise_text(value), lists)
    if kind is Kind.BOOL:
        return (value is operand) if op == "equals" else (value is not operand)
    return _number_passes(op, operand, value)


def _text_passes(op: str, operand: Any, text: str, lists: Mapping[str, frozenset[str]]) -> bool:
    if op == "equals":
        return bool(text == operand)
    if op == "not_equals":
        return bool(text != operand)
    if op == "in":
        return text in operand
    if op == "not_in":
        return text not in operand
    if op == "in_list":
        return text in lists[operand]
    if op == "not_in_list":
        return text not in lists[operand]
    if op == "prefix":
        return any(text.startswith(p) for p in operand)
    if op == "prefix_in_list":
        return any(text.startswith(p) for p in lists[operand])
    if op == "contains":
        return operand in text
    raise ValueError(f"operator {op} on text")


def _number_passes(op: str, operand: Any, number: float) -> bool:
    if op == "equals":
        return bool(number == operand)
    if op == "not_equals":
        return bool(number != operand)
    if op == "in":
        return number in operand
    if op == "not_in":
        return number not in operand
    if op == "lt":
        return bool(number < operand)
    if op == "le":
        return bool(number <= operand)
    if op == "gt":
        return bool(number > operand)
    if op == "ge":
        return bool(number >= operand)
    if op == "between":
        low, high = operand
        return bool(low <= number <= high)
    raise ValueError(f"operator {op} on a number")


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    # Python's `$` also matches before a final newline; the rule language means the end.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


# --- evidence ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Sources:
    """Fields whose values are evidence: at the declaration, and per quantifier."""

    fields: list[str] = field(default_factory=list)
    quantifiers: list[tuple[Quantified, list[str]]] = field(default_factory=list)


def _sources(node: Node, sources: _Sources, inner: list[str] | None = None) -> None:
    """Walk the tree outside any `not`; ``inner`` collects the fields inside a quantifier."""
    if isinstance(node, FieldTest):
        (sources.fields if inner is None else inner).append(node.field.name)
    elif isinstance(node, AllOf | AnyOf):
        for item in node.items:
            _sources(item, sources, inner)
    elif isinstance(node, Quantified):
        fields: list[str] = []
        _sources(node.item, sources, fields)
        sources.quantifiers.append((node, fields))
    elif not isinstance(node, Not):
        raise TypeError(node)


def reason_names(reason: str) -> list[str]:
    return re.findall(r"\{([A-Za-z0-9_.]+)\}", reason)


def evidence(rule: Rule, subject: Subject, lists: Mapping[str, frozenset[str]]) -> dict[str, Any]:
    sources = _Sources()
    _sources(rule.when, sources)
    for name in reason_names(rule.reason):
        if name in FIELDS[Scope.DECLARATION]:
            sources.fields.append(name)
        for quantifier, fields in sources.quantifiers:
            if name in FIELDS[quantifier.scope]:
                fields.append(name)
    found: dict[str, Any] = {}
    for name in sources.fields:
        _put(found, name, subject.values.get(name))
    for quantifier, fields in sources.quantifiers:
        for item in subject.items[quantifier.scope]:
            if not holds(quantifier.item, item.values, subject, lists):
                continue
            for name in fields:
                address = quantifier.scope is Scope.PARTY and name in ADDRESS_FIELDS
                where = f"address.{name}" if address else name
                _put(found, f"{item.path}.{where}", item.values.get(name))
    return found


def _put(found: dict[str, Any], path: str, value: Any) -> None:
    if value is None or value == "" or value == []:
        return
    if isinstance(value, datetime):
        value = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    found[path] = value


# --- rules -------------------------------------------------------------------------------------


def in_force(rule: Rule, subject: Subject) -> bool:
    if rule.valid_from is not None and subject.submitted_on < rule.valid_from:
        return False
    return rule.valid_to is None or subject.submitted_on <= rule.valid_to


def interpret(
    rules: Sequence[Rule],
    lists: Mapping[str, frozenset[str]],
    declaration: Declaration,
    facts: Facts | None = None,
) -> Result:
    """Every rule over one declaration: matches in rule id order, and the AEO score relief."""
    facts = facts or {}
    subject = subject_of(declaration, facts)
    result = Result(
        score_reduction=(
            AEO_SCORE_REDUCTION
            if any(
                party_facts(role, party, facts).get("aeo_security")
                for role, party in parties(declaration)
                if role in RELIEF_ROLES
            )
            else 0.0
        )
    )
    for rule in sorted(rules, key=lambda r: r.id):
        if not in_force(rule, subject) or not holds(rule.when, subject.values, subject, lists):
            continue
        match = Match(
            rule_id=rule.id,
            rule_version=rule.version,
            action=rule.action,  # type: ignore[arg-type]
            score=rule.score,
            reason=rule.reason,
            evidence=evidence(rule, subject, lists),
        )
        (result.shadow_matches if rule.shadow else result.matches).append(match)
    return result
