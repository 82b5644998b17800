"""Which PromQL queries prove that a dashboard panel or a rule has data behind it.

A dashboard query or a recording rule has data when it returns any series. An alert
expression normally returns nothing (that is the point of a threshold), so what must have data
is what the threshold is applied to: each operand of ``and``/``or``/``unless``, taken left of
its comparison, and for ``absent(x)`` the ``x`` it watches.

This is a scanner over PromQL's surface (nesting, strings, keywords), not a full parser: it
finds comparison and set operators outside parentheses, brackets, braces and strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
SET_OPERATORS = frozenset({"and", "or", "unless"})
# What Grafana puts in place of its macros: a window long enough for rate() at any scrape
# interval used here; the dashboards' job and instance variables at "All", as a regex.
GRAFANA_MACROS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "$job": ".*",
    "$instance": ".*",
}

_OPEN, _CLOSE = "([{", ")]}"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_:]*")
_NUMBER = re.compile(r"[0-9.][A-Za-z0-9.]*")
_MATCHING_MODIFIER = re.compile(r"^\s*(?:on|ignoring)\s*\([^)]*\)\s*")
_ABSENT = re.compile(r"^absent(?:_over_time)?\s*\((.*)\)$", re.DOTALL)
# Keywords followed by a parenthesised list of label names, not of expressions.
_LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_KEYWORDS = SET_OPERATORS | _LABEL_LISTS | {"bool", "offset", "inf", "nan"}
_GROUPING = re.compile(r"(?:by|without)\b")
# Aggregations may put their grouping before the parenthesis: `sum by (x) (...)`.
_AGGREGATIONS = frozenset(
    {
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    }
)


def _top_level(expr: str) -> Iterator[tuple[int, str]]:
    """(position, token) of each operator or keyword outside any nesting and string."""
    depth, i = 0, 0
    while i < len(expr):
        char = expr[i]
        if char in "\"'`":
            end = i + 1
            while end < len(expr) and expr[end] != char:
                end += 2 if expr[end] == "\\" and char != "`" else 1
            i = end + 1
            continue
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
        elif depth == 0:
            word = _IDENTIFIER.match(expr, i) or _NUMBER.match(expr, i)
            if word:
                yield i, word.group()
                i = word.end()
                continue
            operator = next((op for op in COMPARISONS if expr.startswith(op, i)), None)
            if operator:
                yield i, operator
                i += len(operator)
                continue
        i += 1


def _skip_string(expr: str, i: int) -> int:
    """The position after the string literal opening at ``i``."""
    quote, end = expr[i], i + 1
    while end < len(expr) and expr[end] != quote:
        end += 2 if expr[end] == "\\" and quote != "`" else 1
    return end + 1


def _skip_group(expr: str, i: int) -> int:
    """The position after the bracket opening at ``i`` closes, strings skipped."""
    depth = 0
    while i < len(expr):
        char = expr[i]
        if char in "\"'`":
            i = _skip_string(expr, i)
            continue
        depth += char in _OPEN
        depth -= char in _CLOSE
        i += 1
        if depth == 0:
            return i
    return i


def _next_significant(expr: str, i: int) -> int:
    while i < len(expr) and expr[i].isspace():
        i += 1
    return i


@dataclass(frozen=True)
class Selector:
    """A vector selector: its metric name, the text between its braces, and where it is."""

    metric: str
    matchers: str
    start: int
    end: int


def selectors(expr: str) -> list[Selector]:
    """Every vector selector naming a metric, at any depth (not the label lists of by(),
    on() and the like, nor function names, keywords, numbers, durations and strings)."""
    found, i = [], 0
    while i < len(expr):
        char = expr[i]
        if char in "\"'`":
            i = _skip_string(expr, i)
            continue
        if char == "[":  # a range or a subquery's window: durations and macros only
            i = _skip_group(expr, i)
            continue
        word = _IDENTIFIER.match(expr, i)
        number = None if word else _NUMBER.match(expr, i)
        if number:
            i = number.end()
            continue
        if not word:
            i += 1
            continue
        name, after = word.group(), _next_significant(expr, word.end())
        following = expr[after] if after < len(expr) else ""
        if name in _LABEL_LISTS and following == "(":
            i = _skip_group(expr, after)
        elif name in _KEYWORDS or following == "(":
            i = word.end()
        elif name in _AGGREGATIONS and _GROUPING.match(expr, after) is not None:
            i = word.end()  # `sum by (...)`: the grouping comes next
        elif following == "{":
            end = _skip_group(expr, after)
            found.append(Selector(name, expr[after + 1 : end - 1], i, end))
            i = end
        else:
            found.append(Selector(name, "", i, word.end()))
            i = word.end()
    return found


def add_matchers(expr: str, matchers_for: Callable[[str], str]) -> str:
    """``expr`` with the matchers ``matchers_for(metric)`` put first in each selector."""
    for selector in reversed(selectors(expr)):
        added = matchers_for(selector.metric)
        if not added:
            continue
        existing = selector.matchers.strip()
        inside = f"{added},{existing}" if existing else added
        expr = f"{expr[: selector.start]}{selector.metric}{{{inside}}}{expr[selector.end :]}"
    return expr


def _encloses(expr: str) -> bool:
    """True when the opening parenthesis at the start closes at the very end."""
    if not (expr.startswith("(") and expr.endswith(")")):
        return False
    depth = 0
    for position, char in enumerate(expr):
        depth += char == "("
        depth -= char == ")"
        if depth == 0:
            return position == len(expr) - 1
    return False


def _strip_parentheses(expr: str) -> str:
    expr = expr.strip()
    while _encloses(expr):
        expr = expr[1:-1].strip()
    return expr


def set_operands(expr: str) -> list[str]:
    """The operands of top-level ``and``, ``or`` and ``unless``, without on()/ignoring()."""
    expr = _strip_parentheses(expr)
    operands, start = [], 0
    for position, token in _top_level(expr):
        if token in SET_OPERATORS:
            operands.append(expr[start:position])
            start = position + len(token)
    operands.append(expr[start:])
    return [_strip_parentheses(_MATCHING_MODIFIER.sub("", operand)) for operand in operands]


def left_of_comparison(expr: str) -> str:
    """What a top-level comparison compares: the expression left of its first operator."""
    expr = _strip_parentheses(expr)
    for position, token in _top_level(expr):
        if token in COMPARISONS:
            return _strip_parentheses(expr[:position])
    return expr


def data_queries(expr: str) -> list[str]:
    """The queries that must each return data for ``expr`` to be backed by real series."""
    queries = []
    for operand in set_operands(expr):
        query = left_of_comparison(operand)
        absent = _ABSENT.match(query)
        queries.append(_strip_parentheses(absent.group(1)) if absent else query)
    return queries


def expand_grafana_macros(expr: str, macros: Mapping[str, str] = GRAFANA_MACROS) -> str:
    for macro, value in macros.items():
        expr = expr.replace(macro, value)
    return expr


def dashboard_expressions(dashboard: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) of every query of every panel, rows' nested panels included."""
    found = []
    for panel in _panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            found.append((str(panel.get("title", "")), str(target["expr"])))
    return found


def _panels(panels: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def rule_expressions(rule_file: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(alert or record name, expr) of every rule in a Prometheus rule file."""
    return [
        (str(rule.get("alert") or rule.get("record")), str(rule["expr"]))
        for group in rule_file.get("groups", [])
        for rule in group.get("rules", [])
    ]
