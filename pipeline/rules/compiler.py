"""Compile a rule set once; evaluate it over a batch of frames.

Each distinct test of a field (``equals``, ``in_list``, ``matches``, …) becomes one Polars
expression, and each frame's tests are evaluated in one select: a boolean column per test.
What the rules make of them (``all``, ``any``, ``not``, the quantifiers over items, the dates
a rule is valid between) is combined in numpy. Polars plans every expression node anew on every
batch, a few microseconds a node whatever the batch's size; numpy combines two columns of a
hundred booleans in about one. Evidence is read only for the declarations and items that
matched, so its cost follows the matches, not the batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from pipeline.rules.conditions import (
    NULL_PASSES,
    AllOf,
    AnyOf,
    FieldTest,
    Node,
    Not,
    Quantified,
    Test,
)
from pipeline.rules.fields import FIELDS, PARTY_FIELD_PATHS, Field, Kind, Scope
from pipeline.rules.frames import ITEM, NORMALISED, PATH, ROW, SUBMITTED_DATE, Frames, build_frames
from pipeline.rules.model import Rule, RuleSet
from pipeline.rules.reasons import reason_fields
from pipeline.screening.enrich import Enriched

__all__ = ["CompiledRuleSet"]

# Below this many rows, a frame's expressions are evaluated one after another on the calling
# thread. Polars otherwise hands them to its thread pool, which for a batch of eighty
# declarations takes up to a quarter more CPU and no less time; from a thousand rows on, the
# pool shortens a batch when a core is free.
PARALLEL_SELECT_MIN_ROWS = 1000


@dataclass(frozen=True, slots=True)
class RuleMatch:
    rule: Rule
    evidence: dict[str, Any]


# A condition over the rows of one frame: from its tests' results (rows x tests) and, for the
# declaration frame, the quantifiers' results per declaration (rows x quantifiers), a boolean
# per row.
_Condition = Callable[[np.ndarray, np.ndarray], np.ndarray]

# The quantifiers' results given to a condition over items: quantifiers do not nest.
_NO_QUANTIFIERS = np.empty((0, 0), dtype=bool)


@dataclass(slots=True)
class _Quantifier:
    position: int  # among all the rule set's quantifiers
    scope: Scope
    every: bool
    condition: _Condition  # over its scope's items
    evidence_fields: tuple[str, ...]  # fields tested inside, outside any `not`

    @property
    def column(self) -> str:
        return f"q{self.position}"


@dataclass(slots=True)
class _CompiledRule:
    rule: Rule
    condition: _Condition  # over the declarations
    evidence_fields: tuple[str, ...]  # declaration fields
    evidence_quantifiers: tuple[str, ...]  # quantifier columns


@dataclass(slots=True)
class _Compiler:
    lists: Mapping[str, frozenset[str]]
    quantifiers: list[_Quantifier] = field(default_factory=list)
    # Every field some rule reads, per scope: the only columns the frames need.
    used: dict[Scope, set[str]] = field(default_factory=lambda: {s: set() for s in Scope})
    # The text fields some rule compares as normalised text: the only ones normalised.
    normalised: dict[Scope, set[str]] = field(default_factory=lambda: {s: set() for s in Scope})
    # Per scope, every distinct test once: its position among the scope's test columns, and
    # its expression (a missing value already resolved to pass or fail).
    tests: dict[Scope, dict[tuple[str, ...], int]] = field(
        default_factory=lambda: {s: {} for s in Scope}
    )
    test_exprs: dict[Scope, list[pl.Expr]] = field(default_factory=lambda: {s: [] for s in Scope})

    def rule(self, rule: Rule) -> _CompiledRule:
        fields: list[str] = []
        quantifiers: list[str] = []
        condition = self.node(rule.when, fields, quantifiers, Scope.DECLARATION)
        # Fields named in the reason are evidence too: the officer reads them in the reason.
        for name in reason_fields(rule.reason):
            if name in FIELDS[Scope.DECLARATION]:
                fields.append(name)
                self.used[Scope.DECLARATION].add(name)
            for column in quantifiers:
                q = self.quantifiers[int(column[1:])]
                if name in FIELDS[q.scope] and name not in q.evidence_fields:
                    q.evidence_fields = (*q.evidence_fields, name)
                    self.used[q.scope].add(name)
        # A declaration without a submission date is within no rule's dates.
        submitted = pl.col(SUBMITTED_DATE)
        dates = []
        if rule.valid_from is not None:
            since = submitted.ge(rule.valid_from).fill_null(False)
            dates.append(self.column(Scope.DECLARATION, ("from", str(rule.valid_from)), since))
        if rule.valid_to is not None:
            until = submitted.le(rule.valid_to).fill_null(False)
            dates.append(self.column(Scope.DECLARATION, ("to", str(rule.valid_to)), until))
        if dates:
            condition = _all_of([condition, _every_test(dates)])
        return _CompiledRule(rule, condition, tuple(dict.fromkeys(fields)), tuple(quantifiers))

    def node(
        self,
        node: Node,
        fields: list[str] | None,
        quantifiers: list[str] | None,
        scope: Scope,
    ) -> _Condition:
        """``fields``/``quantifiers`` collect evidence sources; None under a `not`."""
        if isinstance(node, FieldTest):
            self.used[scope].add(node.field.name)
            if fields is not None:
                fields.append(node.field.name)
            return _every_test([self.test(t, scope) for t in node.tests])
        if isinstance(node, AllOf):
            return _all_of([self.node(i, fields, quantifiers, scope) for i in node.items])
        if isinstance(node, AnyOf):
            return _any_of([self.node(i, fields, quantifiers, scope) for i in node.items])
        if isinstance(node, Not):
            return _not(self.node(node.item, None, None, scope))
        if isinstance(node, Quantified):
            inner_fields: list[str] = []
            inner = self.node(node.item, inner_fields, [], node.scope)
            quantifier = _Quantifier(
                len(self.quantifiers),
                node.scope,
                node.every,
                inner,
                tuple(dict.fromkeys(inner_fields)),
            )
            self.quantifiers.append(quantifier)
            if quantifiers is not None:
                quantifiers.append(quantifier.column)
            position = quantifier.position
            return lambda _tests, quantified: quantified[:, position]
        raise TypeError(node)

    def test(self, test: Test, scope: Scope) -> int:
        """The test's column among its scope's. A test of a missing value fails, except for
        the operators a missing value passes (``not_equals``, ``not_in``, …), and it is
        resolved here, once per test, so that what the rules make of the tests is plain
        boolean algebra. The rules mean the same as under Kleene logic with every unknown
        result counted false: `all` and `any` are monotone, so a result a missing value
        leaves open comes out false either way, and so does what a `not` negates."""
        expr = self._test(test, scope)
        if test.op != "exists":  # never null
            expr = expr.fill_null(test.op in NULL_PASSES)
        return self.column(scope, (test.field.name, test.op, repr(test.value)), expr)

    def column(self, scope: Scope, key: tuple[str, ...], expr: pl.Expr) -> int:
        """The position of ``expr`` (never null) among the scope's test columns; a test
        several rules make is evaluated once."""
        columns = self.tests[scope]
        if key not in columns:
            columns[key] = len(columns)
            self.test_exprs[scope].append(expr.alias(f"t{columns[key]}"))
        return columns[key]

    def _test(self, test: Test, scope: Scope) -> pl.Expr:
        f, op, value = test.field, test.op, test.value
        raw = pl.col(f.name)
        text = raw
        if _reads_normalised(f, op):
            self.normalised[scope].add(f.name)
            text = pl.col(f.name + NORMALISED)
        if op == "exists":
            present = raw.is_not_null()
            if f.kind is Kind.TEXT:
                present = present & text.ne("")
            elif f.kind is Kind.TEXT_LIST:
                present = present & raw.list.len().gt(0)
            return present if value else ~present
        if op == "equals":
            return text.eq(value)
        if op == "not_equals":
            return text.ne(value)
        if op in ("in", "not_in", "in_list", "not_in_list"):
            values = sorted(self.lists[value]) if op.endswith("_list") else list(value)
            # Whole-number columns are compared as floats, as the rule's values are.
            column = text.cast(pl.Float64) if f.kind is Kind.NUMBER else text
            inside = column.is_in(pl.Series(values, dtype=_dtype(f)).implode())
            return ~inside if op.startswith("not") else inside
        if op in ("prefix", "prefix_in_list"):
            prefixes = sorted(self.lists[value]) if op == "prefix_in_list" else list(value)
            return _starts_with_any(text, prefixes)
        if op == "contains":
            return text.str.contains(value, literal=True)
        if op == "matches":
            return raw.str.contains(value)
        if op == "lt":
            return raw.lt(value)
        if op == "le":
            return raw.le(value)
        if op == "gt":
            return raw.gt(value)
        if op == "ge":
            return raw.ge(value)
        if op == "between":
            return raw.is_between(value[0], value[1], closed="both")
        if op in ("includes_any", "includes_any_in_list"):
            values = sorted(self.lists[value]) if op.endswith("_list") else list(value)
            # One set intersection: a `list.contains` per value is three nodes each to plan,
            # and `list.eval` runs an expression per declaration.
            wanted = pl.lit(pl.Series([values], dtype=pl.List(pl.String)))
            return text.list.set_intersection(wanted).list.len().gt(0)
        raise ValueError(f"unknown operator {op}")


def _reads_normalised(f: Field, op: str) -> bool:
    """Text is compared as normalised, except by a pattern (``matches`` sees what was filed)
    and by a list's ``exists`` (its length)."""
    if f.kind is Kind.TEXT:
        return op != "matches"
    return f.kind is Kind.TEXT_LIST and op != "exists"


def _starts_with_any(text: pl.Expr, prefixes: Sequence[str]) -> pl.Expr:
    """One set lookup per prefix length: a list of forty HS prefixes as forty `starts_with`
    expressions costs Polars a millisecond a batch."""
    by_length: dict[int, list[str]] = defaultdict(list)
    for prefix in prefixes:
        by_length[len(prefix)].append(prefix)
    return _or(
        [
            text.str.slice(0, length).is_in(pl.Series(group, dtype=pl.String).implode())
            for length, group in sorted(by_length.items())
        ]
    )


def _dtype(f: Field) -> type[pl.DataType]:
    if f.kind is Kind.NUMBER:
        return pl.Float64
    if f.kind is Kind.BOOL:
        return pl.Boolean
    return pl.String


def _or(exprs: list[pl.Expr]) -> pl.Expr:
    return exprs[0] if len(exprs) == 1 else pl.any_horizontal(exprs)


def _every_test(columns: list[int]) -> _Condition:
    """All of these test columns: one index for the common case of a single test."""
    if len(columns) == 1:
        (column,) = columns
        return lambda tests, _quantified: tests[:, column]
    indices = np.array(columns)

    def every_test(tests: np.ndarray, _quantified: np.ndarray) -> np.ndarray:
        every: np.ndarray = np.logical_and.reduce(tests[:, indices], axis=1)
        return every

    return every_test


def _all_of(conditions: list[_Condition]) -> _Condition:
    return _combined(conditions, np.logical_and)


def _any_of(conditions: list[_Condition]) -> _Condition:
    return _combined(conditions, np.logical_or)


def _combined(conditions: list[_Condition], combine: np.ufunc) -> _Condition:
    if len(conditions) == 1:
        return conditions[0]
    first, *rest = conditions

    def combined(tests: np.ndarray, quantified: np.ndarray) -> np.ndarray:
        result: np.ndarray = first(tests, quantified)
        for condition in rest:
            result = combine(result, condition(tests, quantified))
        return result

    return combined


def _not(condition: _Condition) -> _Condition:
    return lambda tests, quantified: ~condition(tests, quantified)


class CompiledRuleSet:
    """A rule set turned into Polars expressions; immutable and shareable between threads."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        compiler = _Compiler(ruleset.lists)
        self._rules = [compiler.rule(r) for r in ruleset.rules]
        self._quantifiers = compiler.quantifiers
        self._test_exprs = compiler.test_exprs
        self.fields: Mapping[Scope, frozenset[str]] = {
            scope: frozenset(names) for scope, names in compiler.used.items()
        }
        self.normalised: Mapping[Scope, frozenset[str]] = {
            scope: frozenset(names) for scope, names in compiler.normalised.items()
        }
        self._by_scope: dict[Scope, list[_Quantifier]] = defaultdict(list)
        for q in self._quantifiers:
            self._by_scope[q.scope].append(q)
        # Each scope's quantifiers' positions among all of them, in the scope's order.
        self._positions = {
            scope: np.array([q.position for q in qs], dtype=np.intp)
            for scope, qs in self._by_scope.items()
        }
        # Each quantifier's column in its scope's item flags (``_ItemFlags.flags``).
        self._flag_index = {
            q.column: index for qs in self._by_scope.values() for index, q in enumerate(qs)
        }
        # Per scope, which of its quantifiers each rule takes evidence from: rules x quantifiers.
        self._cites: dict[Scope, np.ndarray] = {}
        for scope, qs in self._by_scope.items():
            cites = np.zeros((len(self._rules), len(qs)), dtype=bool)
            for index, compiled in enumerate(self._rules):
                for column in compiled.evidence_quantifiers:
                    if self.quantifier(column).scope is scope:
                        cites[index, self._flag_index[column]] = True
            self._cites[scope] = cites

    @property
    def version(self) -> str:
        return self.ruleset.version

    def frames_of(self, batch: Sequence[Enriched]) -> Frames:
        """The batch's frames with only the columns this rule set reads, and its text
        normalised only where it compares it."""
        return build_frames(batch, self.fields, self.normalised)

    def evaluate(self, frames: Frames) -> list[list[RuleMatch]]:
        """The matches of every rule for every declaration row, in rule id order."""
        n_rows = frames.declarations.height
        results: list[list[RuleMatch]] = [[] for _ in range(n_rows)]
        if not self._rules or n_rows == 0:
            return results
        # One Polars query per frame (each is planned anew, whatever the batch's size); the
        # rest is array work in numpy.
        quantified = np.empty((n_rows, len(self._quantifiers)), dtype=bool)
        item_flags: dict[Scope, _ItemFlags] = {}
        for scope, quantifiers in self._by_scope.items():
            items = frames.of(scope)
            flags = _ItemFlags.of(items, quantifiers, self.tests(items, scope))
            item_flags[scope] = flags
            quantified[:, self._positions[scope]] = flags.per_declaration(n_rows)
        tests = self.tests(frames.declarations, Scope.DECLARATION)
        hits = np.column_stack([r.condition(tests, quantified) for r in self._rules])
        rows, columns = np.nonzero(hits)
        if rows.size == 0:
            return results
        evidence = _EvidenceReader(frames, item_flags, rows, columns, self)
        for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
            compiled = self._rules[column]
            results[row].append(RuleMatch(compiled.rule, evidence.of(row, compiled, self)))
        for matches in results:
            matches.sort(key=lambda m: m.rule.id)
        return results

    def tests(self, frame: pl.DataFrame, scope: Scope) -> np.ndarray:
        """Every test of the scope over the frame's rows: rows x tests."""
        exprs = self._test_exprs[scope]
        if not exprs:
            return np.empty((frame.height, 0), dtype=bool)
        results = _select(frame, exprs).to_numpy()
        return results.reshape(frame.height, len(exprs)).astype(bool, copy=False)

    def quantifier(self, column: str) -> _Quantifier:
        return self._quantifiers[int(column[1:])]

    def flag_index(self, column: str) -> int:
        return self._flag_index[column]

    def cites(self, scope: Scope) -> np.ndarray:
        return self._cites[scope]

    # The columns evidence is read from. Rows are read into Python for the matched declarations
    # and items only, and only the columns the rules that matched take evidence from: a batch
    # matches a few rules, and each column read costs microseconds however few rows it gives.

    def evidence_columns(self, rules: Iterable[int]) -> list[str]:
        """The declaration columns of these rules' (by position) evidence."""
        return _unique(f for rule in rules for f in self._rules[rule].evidence_fields)

    def item_evidence_columns(self, scope: Scope, quantifiers: Iterable[int]) -> list[str]:
        """The item columns of these quantifiers' (by position in their scope) evidence."""
        qs = self._by_scope[scope]
        fields = (f for index in quantifiers for f in qs[index].evidence_fields)
        return _unique([ROW, PATH if scope is Scope.PARTY else ITEM, *fields])


@dataclass(frozen=True, slots=True)
class _ItemFlags:
    """Every quantifier's condition over one scope's items: a boolean per item and quantifier."""

    items: pl.DataFrame
    quantifiers: Sequence[_Quantifier]
    rows: np.ndarray  # the declaration row of each item
    flags: np.ndarray  # items x quantifiers

    @classmethod
    def of(
        cls, items: pl.DataFrame, quantifiers: Sequence[_Quantifier], tests: np.ndarray
    ) -> _ItemFlags:
        """``tests``: the scope's tests over ``items`` (``CompiledRuleSet.tests``)."""
        flags = np.empty((items.height, len(quantifiers)), dtype=bool)
        for index, q in enumerate(quantifiers):
            flags[:, index] = q.condition(tests, _NO_QUANTIFIERS)
        return cls(items, quantifiers, items[ROW].to_numpy(), flags)

    def per_declaration(self, n_rows: int) -> np.ndarray:
        """`any` or `all` of each quantifier's items, per declaration (`all` of none is true):
        declarations x quantifiers."""
        columns = np.empty((n_rows, len(self.quantifiers)), dtype=bool)
        for index, q in enumerate(self.quantifiers):
            if q.every:
                failing = np.bincount(self.rows[~self.flags[:, index]], minlength=n_rows)
                columns[:, index] = failing == 0
            else:
                matching = np.bincount(self.rows[self.flags[:, index]], minlength=n_rows)
                columns[:, index] = matching > 0
        return columns


class _EvidenceReader:
    """Field values of the matched declarations and of their matching items."""

    def __init__(
        self,
        frames: Frames,
        item_flags: Mapping[Scope, _ItemFlags],
        rows: np.ndarray,
        columns: np.ndarray,
        ruleset: CompiledRuleSet,
    ) -> None:
        """``rows`` and ``columns``: each match's declaration row and rule, in row order."""
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])  # each row's first match
        matched = rows[starts]
        rules = np.unique(columns)
        # A declaration's row number is its position in the frame.
        self._declarations = _picked(
            frames.declarations, ruleset.evidence_columns(rules.tolist()), matched
        )
        self._position = {row: position for position, row in enumerate(matched.tolist())}
        # Per scope: the items that satisfy a condition some matched rule of their declaration
        # takes evidence from (most items give none), and per declaration row, each such item's
        # position among them with its flag per quantifier.
        self._items: dict[Scope, tuple[_Columns, dict[int, list[tuple[int, list[bool]]]]]] = {}
        n_rows = frames.declarations.height
        for scope, flags in item_flags.items():
            # Declarations x quantifiers: cited by a rule that matched the declaration. Only the
            # matches are looked at: a product of all declarations and rules grows with both.
            cited = np.zeros((n_rows, flags.flags.shape[1]), dtype=bool)
            cited[matched] = np.logical_or.reduceat(ruleset.cites(scope)[columns], starts, axis=0)
            chosen = np.flatnonzero((flags.flags & cited[flags.rows]).any(axis=1))
            quantifiers = np.flatnonzero(ruleset.cites(scope)[rules].any(axis=0))
            names = ruleset.item_evidence_columns(scope, quantifiers.tolist())
            items = _picked(flags.items, names, chosen)
            grouped: dict[int, list[tuple[int, list[bool]]]] = defaultdict(list)
            for position, (row, item_flags_row) in enumerate(
                zip(items[ROW], flags.flags[chosen].tolist(), strict=True)
            ):
                grouped[row].append((position, item_flags_row))
            self._items[scope] = (items, grouped)

    def of(self, row: int, compiled: _CompiledRule, ruleset: CompiledRuleSet) -> dict[str, Any]:
        evidence: dict[str, Any] = {}
        declaration = self._position[row]
        for name in compiled.evidence_fields:
            _put(evidence, name, self._declarations[name][declaration])
        for column in compiled.evidence_quantifiers:
            q = ruleset.quantifier(column)
            flag = ruleset.flag_index(column)
            items, grouped = self._items[q.scope]
            for item, item_flags in grouped.get(row, ()):
                if not item_flags[flag]:
                    continue
                prefix = _item_path(q.scope, items, item)
                for name in q.evidence_fields:
                    path = f"{prefix}.{_party_field_path(q.scope, name)}"
                    _put(evidence, path, items[name][item])
        return evidence


# Some rows of a frame as a Python list per column.
_Columns = dict[str, list[Any]]


# Up to this many values (rows x columns), a frame's columns are read whole and the rows picked
# in Python: cheaper than gathering them in Polars, which costs 0.15 ms a frame however few
# rows it takes. A batch of eighty declarations has frames of 2,000 to 5,000 values.
PICK_IN_PYTHON_MAX_VALUES = 6000


def _picked(frame: pl.DataFrame, names: Sequence[str], rows: np.ndarray) -> _Columns:
    """``rows`` of the ``names`` columns. Taking the columns as Series (no query to plan) and
    each one to a list costs a third of iterating the rows as dicts."""
    if not names:
        return {}
    if rows.size == 0:
        return {name: [] for name in names}
    if frame.height * len(names) <= PICK_IN_PYTHON_MAX_VALUES:
        positions = rows.tolist()
        picked: _Columns = {}
        for name in names:
            values = frame.get_column(name).to_list()
            picked[name] = [values[position] for position in positions]
        return picked
    chosen = pl.DataFrame([frame.get_column(name) for name in names])[rows]
    return {series.name: series.to_list() for series in chosen.get_columns()}


def _select(frame: pl.DataFrame, exprs: Sequence[pl.Expr]) -> pl.DataFrame:
    if frame.height < PARALLEL_SELECT_MIN_ROWS:
        return frame.select_seq(exprs)
    return frame.select(exprs)


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _item_path(scope: Scope, items: _Columns, position: int) -> str:
    if scope is Scope.GOODS:
        return f"goods[{items[ITEM][position]}]"
    if scope is Scope.CONTAINER:
        return f"equipment[{items[ITEM][position]}]"
    return str(items[PATH][position])


def _party_field_path(scope: Scope, name: str) -> str:
    return PARTY_FIELD_PATHS.get(name, name) if scope is Scope.PARTY else name


def _put(evidence: dict[str, Any], path: str, value: Any) -> None:
    if value is None or value == "" or value == []:
        return
    if isinstance(value, datetime):
        value = value.isoformat().replace("+00:00", "Z")
    evidence[path] = value
