"""Compile a rule set to Polars expressions once; evaluate it over a batch of frames.

Every rule becomes one boolean column over the declaration frame. An ``any_…``/``all_…`` node
becomes a boolean column over its item frame, aggregated per declaration in one group-by for
all rules together and joined back. Evidence is read only for the declarations and items that
matched, so its cost follows the matches, not the batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
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


@dataclass(slots=True)
class _Quantifier:
    column: str
    scope: Scope
    every: bool
    expr: pl.Expr
    evidence_fields: tuple[str, ...]  # fields tested inside, outside any `not`


@dataclass(slots=True)
class _CompiledRule:
    rule: Rule
    column: str
    expr: pl.Expr
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

    def rule(self, index: int, rule: Rule) -> _CompiledRule:
        fields: list[str] = []
        quantifiers: list[str] = []
        expr = self.node(rule.when, fields, quantifiers, Scope.DECLARATION)
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
        expr = expr.fill_null(False)
        if rule.valid_from is not None:
            expr = expr & pl.col(SUBMITTED_DATE).ge(rule.valid_from)
        if rule.valid_to is not None:
            expr = expr & pl.col(SUBMITTED_DATE).le(rule.valid_to)
        return _CompiledRule(
            rule, f"r{index}", expr, tuple(dict.fromkeys(fields)), tuple(quantifiers)
        )

    def node(
        self,
        node: Node,
        fields: list[str] | None,
        quantifiers: list[str] | None,
        scope: Scope,
    ) -> pl.Expr:
        """``fields``/``quantifiers`` collect evidence sources; None under a `not`."""
        if isinstance(node, FieldTest):
            self.used[scope].add(node.field.name)
            if fields is not None:
                fields.append(node.field.name)
            return _and([self.test(t, scope) for t in node.tests])
        if isinstance(node, AllOf):
            return pl.all_horizontal([self.node(i, fields, quantifiers, scope) for i in node.items])
        if isinstance(node, AnyOf):
            return pl.any_horizontal([self.node(i, fields, quantifiers, scope) for i in node.items])
        if isinstance(node, Not):
            return ~self.node(node.item, None, None, scope).fill_null(False)
        if isinstance(node, Quantified):
            inner_fields: list[str] = []
            inner = self.node(node.item, inner_fields, [], node.scope)
            column = f"q{len(self.quantifiers)}"
            self.quantifiers.append(
                _Quantifier(
                    column,
                    node.scope,
                    node.every,
                    inner.fill_null(False),
                    tuple(dict.fromkeys(inner_fields)),
                )
            )
            if quantifiers is not None:
                quantifiers.append(column)
            return pl.col(column)
        raise TypeError(node)

    def test(self, test: Test, scope: Scope) -> pl.Expr:
        """A test of a missing value is null, which counts as false: Polars' `&`, `|`,
        `all_horizontal` and `any_horizontal` follow Kleene logic, under which null and false
        give the same result wherever it is not negated. So nulls are filled only where that
        is not so: under a `not`, at the top of each rule and quantifier, and for the tests
        a missing value passes. Every node costs Polars microseconds of planning per batch,
        whatever the batch's size."""
        expr = self._test(test, scope)
        return expr.fill_null(True) if test.op in NULL_PASSES else expr

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


def _and(exprs: list[pl.Expr]) -> pl.Expr:
    return exprs[0] if len(exprs) == 1 else pl.all_horizontal(exprs)


def _or(exprs: list[pl.Expr]) -> pl.Expr:
    return exprs[0] if len(exprs) == 1 else pl.any_horizontal(exprs)


class CompiledRuleSet:
    """A rule set turned into Polars expressions; immutable and shareable between threads."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        compiler = _Compiler(ruleset.lists)
        self._rules = [compiler.rule(i, r) for i, r in enumerate(ruleset.rules)]
        self._quantifiers = compiler.quantifiers
        self.fields: Mapping[Scope, frozenset[str]] = {
            scope: frozenset(names) for scope, names in compiler.used.items()
        }
        self.normalised: Mapping[Scope, frozenset[str]] = {
            scope: frozenset(names) for scope, names in compiler.normalised.items()
        }
        self._by_scope: dict[Scope, list[_Quantifier]] = defaultdict(list)
        for q in self._quantifiers:
            self._by_scope[q.scope].append(q)
        self._rule_columns = [r.expr.alias(r.column) for r in self._rules]
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
        # The columns evidence is read from: rows are read into Python for matched
        # declarations only, and only these columns of them.
        self.evidence_columns = _unique(f for r in self._rules for f in r.evidence_fields)
        self.item_evidence_columns: dict[Scope, list[str]] = {
            scope: _unique(
                [
                    ROW,
                    PATH if scope is Scope.PARTY else ITEM,
                    *(f for q in qs for f in q.evidence_fields),
                ]
            )
            for scope, qs in self._by_scope.items()
        }

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
        # Few Polars queries per batch: each one is planned and optimised anew, which costs
        # milliseconds whatever the batch size. Per-declaration aggregation and the search for
        # matches are plain array work, done in numpy.
        quantified: list[np.ndarray] = []
        names: list[str] = []
        item_flags: dict[Scope, _ItemFlags] = {}
        for scope, quantifiers in self._by_scope.items():
            flags = _ItemFlags.of(frames.of(scope), quantifiers)
            item_flags[scope] = flags
            quantified.append(flags.per_declaration(n_rows))
            names.extend(q.column for q in quantifiers)
        # One frame from one array: a Series per quantifier costs more than its values.
        per_declaration = (
            pl.from_numpy(np.hstack(quantified), schema=names, orient="row").get_columns()
            if names
            else []
        )
        hits = _select(frames.declarations.hstack(per_declaration), self._rule_columns).to_numpy()
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

    def quantifier(self, column: str) -> _Quantifier:
        return self._quantifiers[int(column[1:])]

    def flag_index(self, column: str) -> int:
        return self._flag_index[column]

    def cites(self, scope: Scope) -> np.ndarray:
        return self._cites[scope]


@dataclass(frozen=True, slots=True)
class _ItemFlags:
    """Every quantifier's condition over one scope's items: a boolean per item and quantifier."""

    items: pl.DataFrame
    quantifiers: Sequence[_Quantifier]
    rows: np.ndarray  # the declaration row of each item
    flags: np.ndarray  # items x quantifiers

    @classmethod
    def of(cls, items: pl.DataFrame, quantifiers: Sequence[_Quantifier]) -> _ItemFlags:
        flags = _select(items, [q.expr.alias(q.column) for q in quantifiers])
        return cls(
            items,
            quantifiers,
            items[ROW].to_numpy(),
            flags.to_numpy().reshape(items.height, len(quantifiers)).astype(bool),
        )

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
        # A declaration's row number is its position in the frame.
        self._declarations = _picked(frames.declarations, ruleset.evidence_columns, matched)
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
            items = _picked(flags.items, ruleset.item_evidence_columns[scope], chosen)
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
