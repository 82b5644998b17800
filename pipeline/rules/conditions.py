"""The condition language: a small tree of typed nodes parsed from YAML data.

Parsing checks every field name, operator and value against the field catalogue, so a rule
that loads is a rule that compiles. Nothing in a rule is ever evaluated as code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from pipeline.errors import ScreeningError
from pipeline.rules.fields import FIELDS, Field, Kind, Scope
from pipeline.text import without_format_characters

QUANTIFIERS: dict[str, tuple[Scope, bool]] = {
    "any_goods": (Scope.GOODS, False),
    "all_goods": (Scope.GOODS, True),
    "any_party": (Scope.PARTY, False),
    "all_parties": (Scope.PARTY, True),
    "any_container": (Scope.CONTAINER, False),
    "all_containers": (Scope.CONTAINER, True),
}

TEXT_OPS = frozenset(
    {
        "equals",
        "not_equals",
        "in",
        "not_in",
        "in_list",
        "not_in_list",
        "prefix",
        "prefix_in_list",
        "contains",
        "matches",
        "exists",
    }
)
NUMBER_OPS = frozenset(
    {"equals", "not_equals", "in", "not_in", "lt", "le", "gt", "ge", "between", "exists"}
)
BOOL_OPS = frozenset({"equals", "not_equals", "exists"})
LIST_OPS = frozenset({"includes_any", "includes_any_in_list", "exists"})
TIME_OPS = frozenset({"exists"})
OPS_BY_KIND = {
    Kind.TEXT: TEXT_OPS,
    Kind.NUMBER: NUMBER_OPS,
    Kind.BOOL: BOOL_OPS,
    Kind.TEXT_LIST: LIST_OPS,
    Kind.TIME: TIME_OPS,
}
# Operators a field with no value passes.
NULL_PASSES = frozenset({"not_equals", "not_in", "not_in_list"})


class ConditionError(ScreeningError, ValueError):
    """A condition that cannot be used; ``path`` says where in the ``when`` tree."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Test:
    """One operator applied to one field."""

    field: Field
    op: str
    value: Any  # normalised: text upper-cased and folded, lists as tuples, list names as str


@dataclass(frozen=True, slots=True)
class FieldTest:
    field: Field
    tests: tuple[Test, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class Quantified:
    name: str  # any_goods, all_parties, ...
    scope: Scope
    every: bool
    item: Node


Node = FieldTest | AllOf | AnyOf | Not | Quantified


def normalise_text(value: str) -> str:
    """How text is compared: upper case, no surrounding spaces, runs of spaces folded, and no
    invisible format characters (zero-width, bidirectional controls) to hide a word behind."""
    return " ".join(without_format_characters(value).split()).upper()


def parse_condition(data: Any, lists: Mapping[str, frozenset[str]], path: str = "when") -> Node:
    return _parse(data, Scope.DECLARATION, lists, path)


def _parse(data: Any, scope: Scope, lists: Mapping[str, frozenset[str]], path: str) -> Node:
    if not isinstance(data, Mapping) or len(data) != 1:
        raise ConditionError(path, "a condition is a mapping with exactly one key")
    ((key, value),) = data.items()
    if not isinstance(key, str):
        raise ConditionError(path, f"{key!r} is not a field or a keyword")
    where = f"{path}.{key}"
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise ConditionError(where, f"`{key}` takes a non-empty list of conditions")
        items = tuple(_parse(v, scope, lists, f"{where}[{i}]") for i, v in enumerate(value))
        return AllOf(items) if key == "all" else AnyOf(items)
    if key == "not":
        return Not(_parse(value, scope, lists, where))
    if key in QUANTIFIERS:
        inner_scope, every = QUANTIFIERS[key]
        if scope is not Scope.DECLARATION:
            raise ConditionError(where, f"`{key}` can only be used at the declaration level")
        return Quantified(key, inner_scope, every, _parse(value, inner_scope, lists, where))
    field = FIELDS[scope].get(key)
    if field is None:
        raise ConditionError(where, _unknown_field(scope, key))
    operators = value if isinstance(value, Mapping) else {"equals": value}
    if not operators:
        raise ConditionError(where, "give at least one operator")
    tests = tuple(
        _test(field, str(op), operand, lists, f"{where}.{op}") for op, operand in operators.items()
    )
    return FieldTest(field, tests)


def _unknown_field(scope: Scope, key: str) -> str:
    quantifiers = (
        (Scope.GOODS, "any_goods"),
        (Scope.PARTY, "any_party"),
        (Scope.CONTAINER, "any_container"),
    )
    for other, quantifier in quantifiers:
        if other is not scope and key in FIELDS[other]:
            return (
                f"`{key}` is a {other.value} field: test it inside `{quantifier}` "
                f"(or its `all_` form)"
            )
    return f"unknown {scope.value} field `{key}` (known: {', '.join(sorted(FIELDS[scope]))})"


def _test(
    field: Field, op: str, operand: Any, lists: Mapping[str, frozenset[str]], where: str
) -> Test:
    allowed = OPS_BY_KIND[field.kind]
    if op not in allowed:
        raise ConditionError(
            where,
            f"`{op}` does not apply to {field.kind.value} field `{field.name}` "
            f"(use one of: {', '.join(sorted(allowed))})",
        )
    if op in ("in_list", "not_in_list", "prefix_in_list", "includes_any_in_list"):
        if not isinstance(operand, str) or operand not in lists:
            known = ", ".join(sorted(lists)) or "none"
            raise ConditionError(where, f"no list named {operand!r} (lists: {known})")
        return Test(field, op, operand)
    if op == "exists":
        if not isinstance(operand, bool):
            raise ConditionError(where, "`exists` takes true or false")
        return Test(field, op, operand)
    if op == "matches":
        if not isinstance(operand, str):
            raise ConditionError(where, "`matches` takes a regular expression as text")
        try:
            re.compile(operand)
            # Polars runs the expression: its regex engine has no look-around or
            # back-references, so check the pattern there too.
            pl.select(pl.lit("").str.contains(operand))
        except (re.error, pl.exceptions.ComputeError) as exc:
            reason = " ".join(str(exc).split())[:200]
            raise ConditionError(where, f"bad regular expression: {reason}") from exc
        return Test(field, op, operand)
    if op == "between":
        if (
            not isinstance(operand, list)
            or len(operand) != 2
            or not all(_is_number(v) for v in operand)
            or operand[0] > operand[1]
        ):
            raise ConditionError(where, "`between` takes [low, high] with low <= high")
        return Test(field, op, (float(operand[0]), float(operand[1])))
    if op in ("in", "not_in", "includes_any"):
        if not isinstance(operand, list) or not operand:
            raise ConditionError(where, f"`{op}` takes a non-empty list")
        return Test(field, op, tuple(_scalar(field, v, where) for v in operand))
    if op in ("prefix",):
        texts = operand if isinstance(operand, list) else [operand]
        if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise ConditionError(where, "`prefix` takes text or a list of texts")
        return Test(field, op, tuple(normalise_text(t) for t in texts))
    if op == "contains":
        if not isinstance(operand, str) or not operand.strip():
            raise ConditionError(where, "`contains` takes text")
        return Test(field, op, normalise_text(operand))
    if op in ("lt", "le", "gt", "ge"):
        if not _is_number(operand):
            raise ConditionError(where, f"`{op}` takes a number")
        return Test(field, op, float(operand))
    return Test(field, op, _scalar(field, operand, where))


def _scalar(field: Field, value: Any, where: str) -> Any:
    kind = Kind.TEXT if field.kind is Kind.TEXT_LIST else field.kind
    if kind is Kind.TEXT:
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ConditionError(where, f"`{field.name}` is text; {value!r} is not")
        return normalise_text(str(value))
    if kind is Kind.NUMBER:
        if not _is_number(value):
            raise ConditionError(where, f"`{field.name}` is a number; {value!r} is not")
        return float(value)
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise ConditionError(where, f"`{field.name}` is true or false; {value!r} is not")
        return value
    raise ConditionError(where, f"`{field.name}` cannot be compared with a value")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def referenced_lists(node: Node) -> set[str]:
    """Names of the lists a condition uses."""
    if isinstance(node, FieldTest):
        return {t.value for t in node.tests if t.op.endswith("_list")}
    if isinstance(node, AllOf | AnyOf):
        return set().union(*(referenced_lists(i) for i in node.items))
    if isinstance(node, Not | Quantified):
        return referenced_lists(node.item)
    raise TypeError(node)


def fields_in_scope(node: Node) -> set[str]:
    """Fields a reason may name: the declaration's, and those of every item kind quantified
    outside a `not` (their values come from the matching items)."""
    names = set(FIELDS[Scope.DECLARATION])
    for scope in _quantified_scopes(node):
        names |= set(FIELDS[scope])
    return names


def _quantified_scopes(node: Node) -> set[Scope]:
    if isinstance(node, Quantified):
        return {node.scope}
    if isinstance(node, AllOf | AnyOf):
        return set().union(*(_quantified_scopes(i) for i in node.items))
    return set()
