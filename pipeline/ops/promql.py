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
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
SET_OPERATORS = frozenset({"and", "or", "unless"})
# What Grafana puts in place of its macros: a window long enough for rate() at any scrape
# interval used here.
GRAFANA_MACROS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}

_OPEN, _CLOSE = "([{", ")]}"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_:]*")
_NUMBER = re.compile(r"[0-9.][A-Za-z0-9.]*")
_MATCHING_MODIFIER = re.compile(r"^\s*(?:on|ignoring)\s*\([^)]*\)\s*")
_ABSENT = re.compile(r"^absent(?:_over_time)?\s*\((.*)\)$", re.DOTALL)


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
