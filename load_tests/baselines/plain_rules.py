"""The default rules evaluated one declaration at a time in plain Python: the baselines' screening.

What a user writes first: read the YAML rules, walk each condition over the parsed JSON
document, add up the scores. No Polars, no reference data (parties carry only what they file),
no evidence. It imports nothing from ``pipeline`` so that it also runs in the Quix Streams
virtual environment, which only has PyYAML next to Quix Streams.
"""

from __future__ import annotations

import csv
import functools
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

Values = dict[str, Any]
Test = Callable[[Values, "Subject"], bool]

_QUANTIFIERS = {
    "any_goods": ("goods", False),
    "all_goods": ("goods", True),
    "any_party": ("parties", False),
    "all_parties": ("parties", True),
    "any_container": ("containers", False),
    "all_containers": ("containers", True),
}
_NO_VALUE_PASSES = frozenset({"not_equals", "not_in", "not_in_list"})
_SEVERITY = {"ASSESSMENT_COMPLETE": 0, "RFI": 1, "HRCM": 2, "DNL": 3}
_ROLES = ("declarant", "consignor", "consignee", "carrier", "notify_party")
_CONTAINER = re.compile(r"[A-Z]{3}[UJZ][0-9]{7}")
_IMO_PREFIX = re.compile(r"^\s*IMO(?![A-Z])[\s.:#-]*", re.IGNORECASE)
_IMO_SEPARATORS = re.compile(r"[\s.-]")


def _letter_values() -> dict[str, int]:
    """ISO 6346 letter values: from 10 up, leaving out the multiples of 11."""
    values, number = {}, 10
    for code in range(ord("A"), ord("Z") + 1):
        if number % 11 == 0:
            number += 1
        values[chr(code)] = number
        number += 1
    return values


_LETTERS = _letter_values()


def normalise(text: str) -> str:
    """As the rule language compares text: case, spaces and invisible format characters."""
    if not text.isascii():
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.split()).upper()


def check_digit_valid(number: str) -> bool:
    compact = number.replace(" ", "").strip().upper()
    if not _CONTAINER.fullmatch(compact):
        return False
    total = sum((_LETTERS[c] if c.isalpha() else int(c)) << i for i, c in enumerate(compact[:10]))
    return total % 11 % 10 == int(compact[10])


def imo_valid(number: str | None) -> bool | None:
    """An IMO ship number's check digit (none when none is filed), as the pipeline checks it."""
    if not number:
        return None
    digits = _IMO_SEPARATORS.sub("", _IMO_PREFIX.sub("", number))
    if len(digits) != 7 or not digits.isascii() or not digits.isdigit():
        return False
    weighted = sum(int(d) * w for d, w in zip(digits[:6], range(7, 1, -1), strict=True))
    return weighted % 10 == int(digits[6])


@dataclass(slots=True)
class Subject:
    """One declaration as the rules see it: its own values and those of its items."""

    values: Values
    goods: list[Values]
    parties: list[Values]
    containers: list[Values]


@dataclass(frozen=True, slots=True)
class PlainRule:
    id: str
    version: int
    action: str
    score: float
    reason: str
    shadow: bool
    valid_from: date | None
    valid_to: date | None
    test: Test


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: str
    score: float
    matches: list[PlainRule]
    shadow_matches: list[PlainRule]


# --- loading ---------------------------------------------------------------------------------


def load_rules(folder: Path) -> list[PlainRule]:
    lists = {
        path.stem: frozenset(
            normalise(line.split("#", 1)[0])
            for line in path.read_text().splitlines()
            if line.split("#", 1)[0].strip()
        )
        for path in sorted((folder / "lists").glob("*.txt"))
    }
    rules = []
    for path in sorted(folder.rglob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        rules.append(
            PlainRule(
                id=str(document["id"]),
                version=int(document["version"]),
                action=str(document["action"]),
                score=float(document.get("score") or 0),
                reason=str(document.get("reason", "")),
                shadow=document.get("mode") == "shadow",
                valid_from=document.get("valid_from"),
                valid_to=document.get("valid_to"),
                test=_condition(document["when"], lists),
            )
        )
    return sorted(rules, key=lambda rule: rule.id)


def _condition(node: Mapping[str, Any], lists: Mapping[str, frozenset[str]]) -> Test:
    tests = [_one(key, value, lists) for key, value in node.items()]
    if len(tests) == 1:
        return tests[0]
    return lambda values, subject: all(t(values, subject) for t in tests)


def _one(key: str, value: Any, lists: Mapping[str, frozenset[str]]) -> Test:
    if key in ("all", "any"):
        parts = [_condition(item, lists) for item in value]
        if key == "all":
            return lambda values, subject: all(p(values, subject) for p in parts)
        return lambda values, subject: any(p(values, subject) for p in parts)
    if key == "not":
        inner = _condition(value, lists)
        return lambda values, subject: not inner(values, subject)
    if key in _QUANTIFIERS:
        scope, every = _QUANTIFIERS[key]
        inner = _condition(value, lists)
        if every:
            return lambda _, subject: all(inner(i, subject) for i in getattr(subject, scope))
        return lambda _, subject: any(inner(i, subject) for i in getattr(subject, scope))
    operators = value if isinstance(value, Mapping) else {"equals": value}
    checks = [_operator(op, operand, lists) for op, operand in operators.items()]
    return lambda values, _: all(check(values.get(key)) for check in checks)


def _operator(op: str, operand: Any, lists: Mapping[str, frozenset[str]]) -> Callable[[Any], bool]:
    if op == "exists":
        return lambda v: _has_value(v) is bool(operand)
    if op == "matches":
        pattern = re.compile(operand[:-1] + r"\Z" if operand.endswith("$") else operand)
        return lambda v: isinstance(v, str) and pattern.search(v) is not None
    wanted = _operand(op, operand, lists)
    compare = _COMPARE[op]

    def check(value: Any) -> bool:
        if value is None or (isinstance(value, list) and not value):
            return op in _NO_VALUE_PASSES
        if isinstance(value, list):
            return any(normalise(str(v)) in wanted for v in value)
        if isinstance(value, str):
            value = normalise(value)
        return compare(value, wanted)

    return check


def _operand(op: str, operand: Any, lists: Mapping[str, frozenset[str]]) -> Any:
    if op in ("in_list", "not_in_list", "prefix_in_list", "includes_any_in_list"):
        entries = lists[operand]
        return tuple(entries) if op == "prefix_in_list" else entries
    if op in ("in", "not_in", "includes_any"):
        return frozenset(normalise(o) if isinstance(o, str) else o for o in operand)
    if op == "prefix":
        return tuple(normalise(p) for p in ([operand] if isinstance(operand, str) else operand))
    if isinstance(operand, str):
        return normalise(operand)
    return operand


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "equals": lambda v, o: bool(v == o),
    "not_equals": lambda v, o: bool(v != o),
    "in": lambda v, o: v in o,
    "not_in": lambda v, o: v not in o,
    "in_list": lambda v, o: v in o,
    "not_in_list": lambda v, o: v not in o,
    "includes_any": lambda v, o: v in o,
    "includes_any_in_list": lambda v, o: v in o,
    "prefix": lambda v, o: isinstance(v, str) and v.startswith(o),
    "prefix_in_list": lambda v, o: isinstance(v, str) and v.startswith(o),
    "contains": lambda v, o: isinstance(v, str) and o in v,
    "lt": lambda v, o: bool(v < o),
    "le": lambda v, o: bool(v <= o),
    "gt": lambda v, o: bool(v > o),
    "ge": lambda v, o: bool(v >= o),
    "between": lambda v, o: bool(o[0] <= v <= o[1]),
}


def _has_value(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return normalise(value) != ""
    if isinstance(value, list):
        return len(value) > 0
    return True


# --- the values the rules test ------------------------------------------------------------------


_PORTS = Path(__file__).resolve().parents[2] / "pipeline" / "reference" / "data" / "ports.csv"


@functools.cache
def _ports() -> dict[str, tuple[float, float]]:
    with _PORTS.open(encoding="utf-8", newline="") as handle:
        return {r["code"]: (float(r["lat"]), float(r["lon"])) for r in csv.DictReader(handle)}


def _sailing_hours(start: str, end: str) -> float | None:
    """Great-circle distance at 18 knots, as the pipeline estimates a voyage."""
    a, b = _ports().get(start.upper()), _ports().get(end.upper())
    if a is None or b is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return round(2 * 3440.065 * math.asin(math.sqrt(min(1.0, h))) / 18.0, 1)


def _best_loading(
    transport: Mapping[str, Any], loading_at: datetime | None, arrival_at: datetime | None
) -> tuple[datetime | None, str | None, float | None]:
    if loading_at:
        return loading_at, "the filed loading time", None
    departure = _time(transport.get("estimated_departure_at"))
    if departure:
        return departure, "the filed departure time", None
    start, end = transport.get("loading_location"), transport.get("discharge_location")
    if transport.get("mode") == "SEA" and arrival_at and start and end:
        hours = _sailing_hours(start, end)
        if hours is not None:
            return (
                arrival_at - timedelta(hours=hours),
                "the arrival time less the usual sailing time",
                hours,
            )
    return None, None, None


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _discrepancy(total: Any, items: float | None) -> float | None:
    if total is None or items is None or total == 0:
        return None
    return round(abs(float(total) - items) / float(total), 4)


def subject_of(doc: Mapping[str, Any]) -> Subject:
    transport = doc.get("transport") or {}
    document = doc.get("transport_document") or {}
    totals = doc.get("totals") or {}
    goods = doc.get("goods") or []
    equipment = doc.get("equipment") or []
    vessel = transport.get("vessel") or {}
    loading = transport.get("loading_location")
    discharge = transport.get("discharge_location")
    masses = [g["gross_mass_kg"] for g in goods if g.get("gross_mass_kg") is not None]
    packages = [g["packages"] for g in goods if g.get("packages") is not None]
    goods_mass = round(sum(masses), 3) if masses else None
    goods_packages = sum(packages) if packages else None
    submitted = _time(doc.get("submitted_at"))
    loading_at = _time(transport.get("estimated_loading_at"))
    arrival_at = _time(transport.get("estimated_arrival_at"))
    best_at, basis, sailing = _best_loading(transport, loading_at, arrival_at)
    values: Values = {
        "declaration_id": doc.get("declaration_id"),
        "version": doc.get("version"),
        "message_type": doc.get("message_type"),
        "submitted_at": doc.get("submitted_at"),
        "transport.mode": transport.get("mode"),
        "transport.conveyance_ref": transport.get("conveyance_ref"),
        "transport.loading_location": loading,
        "transport.discharge_location": discharge,
        "transport.routing_countries": transport.get("routing_countries") or [],
        "transport.estimated_loading_at": transport.get("estimated_loading_at"),
        "transport.estimated_arrival_at": transport.get("estimated_arrival_at"),
        "transport.vessel.name": vessel.get("name"),
        "transport.vessel.imo": vessel.get("imo"),
        "transport.vessel.flag": vessel.get("flag"),
        "transport.vessel.imo_valid": imo_valid(vessel.get("imo")),
        "transport_document.type": document.get("type"),
        "transport_document.number": document.get("number"),
        "transport_document.master_number": document.get("master_number"),
        "master_house_count": None,
        "master_referral_outcome": None,
        "master_referred_declarations": None,
        "partner_finding_level": None,
        "partner_finding_partner": None,
        "partner_finding_matched_by": None,
        "partner_finding_categories": [],
        "totals.packages": totals.get("packages"),
        "totals.gross_mass_kg": totals.get("gross_mass_kg"),
        "loading_country": loading[:2] if loading else None,
        "discharge_country": discharge[:2] if discharge else None,
        "hours_before_loading": (
            round((best_at - submitted).total_seconds() / 3600, 2)
            if best_at and submitted
            else None
        ),
        "transport.estimated_departure_at": transport.get("estimated_departure_at"),
        "best_loading_at": best_at.isoformat() if best_at else None,
        "loading_time_basis": basis,
        "usual_sailing_hours": sailing,
        "hours_loading_to_arrival": (
            round((arrival_at - loading_at).total_seconds() / 3600, 2)
            if arrival_at and loading_at
            else None
        ),
        "goods_count": len(goods),
        "goods_mass_kg": goods_mass,
        "goods_packages": goods_packages,
        "mass_discrepancy": _discrepancy(totals.get("gross_mass_kg"), goods_mass),
        "packages_discrepancy": _discrepancy(totals.get("packages"), goods_packages),
        "container_count": len(equipment),
    }
    return Subject(
        values,
        [_item(g) for g in goods],
        _parties(doc, transport),
        [
            {
                "container_id": unit.get("container_id"),
                "check_digit_valid": check_digit_valid(unit.get("container_id") or ""),
                "seal_count": len(unit.get("seals") or []),
            }
            for unit in equipment
        ],
    )


def _item(g: Mapping[str, Any]) -> Values:
    hs = g.get("hs_code")
    value = g.get("value") or {}
    mass, packages = g.get("gross_mass_kg"), g.get("packages")
    return {
        "seq": g.get("seq"),
        "hs_code": hs,
        "hs_chapter": hs[:2] if hs else None,
        "hs_heading": hs[:4] if hs else None,
        "description": g.get("description"),
        "packages": packages,
        "package_type": g.get("package_type"),
        "gross_mass_kg": mass,
        "origin_country": g.get("origin_country"),
        "un_number": g.get("un_number"),
        "value_amount": value.get("amount"),
        "value_currency": value.get("currency"),
        "mass_per_package_kg": round(mass / packages, 3) if mass is not None and packages else None,
    }


def _parties(doc: Mapping[str, Any], transport: Mapping[str, Any]) -> list[Values]:
    found = []
    for role in _ROLES:
        party = transport.get("carrier") if role == "carrier" else doc.get(role)
        if not party:
            continue
        address = party.get("address") or {}
        claimed = any(i.get("scheme") == "AEO" for i in party.get("ids") or [])
        # No registry here: a claimed AEO id is unverified, and no watch list is consulted.
        found.append(
            {
                "role": role,
                "name": party.get("name"),
                "street": address.get("street"),
                "city": address.get("city"),
                "postcode": address.get("postcode"),
                "country": address.get("country"),
                "po_box": address.get("po_box"),
                "aeo_claimed": claimed,
                "aeo_status": "UNVERIFIED" if claimed else "NONE",
                "aeo_security": False,
            }
        )
    return found


# --- outcome ----------------------------------------------------------------------------------


def _in_force(rule: PlainRule, on: date | None) -> bool:
    if on is None:
        return True
    if rule.valid_from is not None and on < rule.valid_from:
        return False
    return rule.valid_to is None or on <= rule.valid_to


def screen(
    rules: list[PlainRule], doc: Mapping[str, Any], rfi_at: float = 30.0, hrcm_at: float = 60.0
) -> Verdict:
    """Every rule over one declaration; the outcome as the README states it."""
    subject = subject_of(doc)
    submitted = _time(doc.get("submitted_at"))
    on = submitted.astimezone(UTC).date() if submitted else None
    matches: list[PlainRule] = []
    shadow: list[PlainRule] = []
    for rule in rules:
        if _in_force(rule, on) and rule.test(subject.values, subject):
            (shadow if rule.shadow else matches).append(rule)
    score = sum(rule.score for rule in matches)
    outcome = "HRCM" if score >= hrcm_at else "RFI" if score >= rfi_at else "ASSESSMENT_COMPLETE"
    for rule in matches:
        if rule.action in _SEVERITY and _SEVERITY[rule.action] > _SEVERITY[outcome]:
            outcome = rule.action
    return Verdict(outcome, score, matches, shadow)


def assessment(rules: list[PlainRule], doc: Any, assessed_at: str) -> dict[str, Any]:
    """One small assessment for one parsed message; anything but a declaration is rejected."""
    if not isinstance(doc, dict) or "declaration_id" not in doc or "version" not in doc:
        return {"outcome": "REJECTED", "assessed_at": assessed_at}
    head = {"declaration_id": doc["declaration_id"], "version": doc["version"]}
    if doc.get("message_type") == "INVALIDATION":
        return {**head, "outcome": "INVALIDATED", "score": 0, "matches": []}
    verdict = screen(rules, doc)
    return {
        **head,
        "outcome": verdict.outcome,
        "score": verdict.score,
        "matches": [_match(rule) for rule in verdict.matches],
        "shadow_matches": [_match(rule) for rule in verdict.shadow_matches],
        "submitted_at": doc.get("submitted_at"),
        "assessed_at": assessed_at,
    }


def _match(rule: PlainRule) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "rule_version": rule.version,
        "action": rule.action,
        "score": rule.score,
        "reason": rule.reason,
    }
