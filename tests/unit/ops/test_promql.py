"""Which queries prove an alert, a recording rule or a panel has data: the extraction rules."""

from __future__ import annotations

import pytest

from pipeline.ops.promql import (
    add_matchers,
    dashboard_expressions,
    data_queries,
    expand_grafana_macros,
    left_of_comparison,
    rule_expressions,
    selectors,
    set_operands,
)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("job:screening_consumer_lag_seconds:max > 60", ["job:screening_consumer_lag_seconds:max"]),
        ("up{job='screening-worker'} == 0", ["up{job='screening-worker'}"]),
        ("a == bool 0", ["a"]),
        ("x >= 1", ["x"]),
        ("x <= 1", ["x"]),
        ("x != 1", ["x"]),
        ("x < 1", ["x"]),
        # Arithmetic binds tighter than comparison: the left side keeps it whole.
        (
            "time() - screening_reference_updated_timestamp_seconds > 36 * 3600",
            ["time() - screening_reference_updated_timestamp_seconds"],
        ),
        ("count(count by (version) (info)) > 1", ["count(count by (version) (info))"]),
        # Operators inside braces, strings and brackets are not top level.
        ('x{code=~"A>B|C<D", path!="and"} > 0', ['x{code=~"A>B|C<D", path!="and"}']),
        ("rate(x[5m] offset 1m) > 0", ["rate(x[5m] offset 1m)"]),
        # An identifier containing a keyword is not that keyword.
        ("brand_orders_total > 1", ["brand_orders_total"]),
        ("(a > 1)", ["a"]),
        # No comparison: the expression itself.
        ("sum by (le) (rate(x_bucket[1m]))", ["sum by (le) (rate(x_bucket[1m]))"]),
        # Vector matching on an arithmetic operator belongs to the expression.
        ("a / on (job) b > 0.05", ["a / on (job) b"]),
    ],
)
def test_left_side_of_a_threshold(expr: str, expected: list[str]) -> None:
    assert data_queries(expr) == expected


def test_each_operand_of_and_is_queried_without_its_matching_modifier() -> None:
    expr = (
        "sum by (job, instance) (increase(consumed_total[10m])) == 0\n"
        "and on (job, instance)\n"
        "instance:lag_messages:sum > 0"
    )
    assert data_queries(expr) == [
        "sum by (job, instance) (increase(consumed_total[10m]))",
        "instance:lag_messages:sum",
    ]


@pytest.mark.parametrize("operator", ["and", "or", "unless"])
def test_set_operators_split(operator: str) -> None:
    assert set_operands(f"a > 1 {operator} ignoring(instance) (b < 2)") == ["a > 1", "b < 2"]


def test_absent_is_proven_by_what_it_watches() -> None:
    assert data_queries('absent(up{job="screening-worker"})') == ['up{job="screening-worker"}']
    assert data_queries("absent_over_time(x[5m])") == ["x[5m]"]


def test_left_of_comparison_leaves_nested_comparisons_alone() -> None:
    assert left_of_comparison("max(x > 1)") == "max(x > 1)"
    assert left_of_comparison("(a) + (b) > 2") == "(a) + (b)"


def test_grafana_macros_become_windows() -> None:
    assert expand_grafana_macros("rate(x[$__rate_interval]) + increase(y[$__range])") == (
        "rate(x[1m]) + increase(y[1h])"
    )


def test_dashboard_expressions_include_panels_nested_in_rows() -> None:
    dashboard = {
        "panels": [
            {"title": "top", "targets": [{"expr": "a"}, {"expr": "b"}]},
            {
                "title": "row",
                "type": "row",
                "panels": [{"title": "inner", "targets": [{"expr": "c"}]}],
            },
        ]
    }
    assert dashboard_expressions(dashboard) == [("top", "a"), ("top", "b"), ("inner", "c")]


def test_rule_expressions_name_alerts_and_records() -> None:
    rules = {
        "groups": [
            {"rules": [{"record": "job:x:rate5m", "expr": "sum(rate(x[5m]))"}]},
            {"rules": [{"alert": "XHigh", "expr": "job:x:rate5m > 1"}]},
        ]
    }
    assert rule_expressions(rules) == [
        ("job:x:rate5m", "sum(rate(x[5m]))"),
        ("XHigh", "job:x:rate5m > 1"),
    ]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("x", [("x", "")]),
        ('sum by (outcome) (rate(x_total{code="A"}[$__rate_interval]))', [("x_total", 'code="A"')]),
        # Functions, aggregations, label lists, keywords, numbers and strings are not metrics.
        ("histogram_quantile(0.5, sum by (le) (rate(b_bucket[5m])))", [("b_bucket", "")]),
        ("time() - max(t)", [("t", "")]),
        ('a or on() label_replace(vector(0), "p", "none", "", "")', [("a", "")]),
        ("count(y) without (z) > 1e3", [("y", "")]),
        ("sum (max by (p) (c)) or on() vector(0)", [("c", "")]),
        ("a / on (job) group_left\n  job:b:rate5m", [("a", ""), ("job:b:rate5m", "")]),
        ("topk(10, d) / on() group_left() (e)", [("d", ""), ("e", "")]),
        ('rate(x{l="{}"}[5m] offset 1m) and bool_total', [("x", 'l="{}"'), ("bool_total", "")]),
        # A metric named like an aggregation, without a grouping after it.
        ("count and x", [("count", ""), ("x", "")]),
    ],
)
def test_selectors_name_the_metrics_read(expr: str, expected: list[tuple[str, str]]) -> None:
    assert [(s.metric, s.matchers) for s in selectors(expr)] == expected


def test_matchers_are_added_first_to_each_selector() -> None:
    expr = 'sum(rate(x{code="A"}[5m])) / on (job) group_left() job:y:sum'
    scoped = add_matchers(expr, lambda metric: "" if ":" in metric else 'job=~"$job"')
    assert scoped == 'sum(rate(x{job=~"$job",code="A"}[5m])) / on (job) group_left() job:y:sum'
    assert add_matchers("a + b{}", lambda metric: 'i="1"') == 'a{i="1"} + b{i="1"}'
