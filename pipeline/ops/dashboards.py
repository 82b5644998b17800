"""The Grafana dashboards, built from code with grafana-foundation-sdk.

Grafana provisions the JSON files under deploy/grafana/dashboards/ that this module writes;
they are committed so that Grafana needs no Python. After changing a panel, regenerate them:

    python -m pipeline.ops.dashboards          # writes the JSON files
    python -m pipeline.ops.dashboards --check  # exit 1 when the files differ from the code

Every query goes to the Prometheus datasource provisioned with the fixed uid below. Shared
expressions (dead-letter share, latency percentiles, lag, reference age) are the recording
rules of deploy/prometheus/, so the dashboards show what the alerts evaluate.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grafana_foundation_sdk.builders import bargauge, common, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as models

from pipeline.rules.evaluator import RANDOM_RULE_ID

DATASOURCE_UID = "screening-prometheus"
DATASOURCE = models.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
JOB = 'job="screening-worker"'
RATE = "$__rate_interval"

# Colours of the outcomes, the same on every panel: the officer's eye learns them once.
OUTCOME_COLOURS = {
    "ASSESSMENT_COMPLETE": "green",
    "RFI": "yellow",
    "HRCM": "orange",
    "DNL": "red",
    "INVALIDATED": "blue",
}


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False


PanelBuilder = timeseries.Panel | stat.Panel | table.Panel | bargauge.Panel


def _targets(queries: Sequence[Query]) -> list[Builder[Dataquery]]:
    targets: list[Builder[Dataquery]] = []
    for ref, query in zip("ABCDEFGH", queries, strict=False):
        query_builder = (
            prometheus.Dataquery()
            .expr(query.expr)
            .ref_id(ref)
            .datasource(DATASOURCE)
            .legend_format(query.legend or "__auto")
        )
        targets.append(query_builder.instant() if query.instant else query_builder.range())
    return targets


def _thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(models.ThresholdsMode.ABSOLUTE)
        .steps([models.Threshold(value=value, color=colour) for value, colour in steps])
    )


def _outcome_colours(panel: timeseries.Panel | bargauge.Panel) -> None:
    for outcome, colour in OUTCOME_COLOURS.items():
        panel.override_by_name(
            outcome,
            [
                models.DynamicConfigValue(
                    id_val="color", value={"mode": "fixed", "fixedColor": colour}
                )
            ],
        )


def graph(
    title: str,
    description: str,
    queries: Sequence[Query],
    unit: str = "short",
    width: int = 8,
    stacked: bool = False,
    limit: tuple[float, float] | None = None,
    outcomes: bool = False,
) -> timeseries.Panel:
    """A time series; ``limit`` draws (warning, critical) as dashed threshold lines."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets(queries))
        .unit(unit)
        .min(0)
        .span(width)
        .height(8)
        .fill_opacity(10)
        .legend(
            common.VizLegendOptions()
            .display_mode(common_models.LegendDisplayMode.TABLE)
            .placement(common_models.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
    )
    if stacked:
        panel.stacking(common.StackingConfig().mode(common_models.StackingMode.NORMAL))
    if limit is not None:
        warning, critical = limit
        panel.thresholds(_thresholds((None, "green"), (warning, "orange"), (critical, "red")))
        panel.thresholds_style(
            common.GraphThresholdsStyleConfig().mode(common_models.GraphThresholdsStyleMode.DASHED)
        )
    if outcomes:
        _outcome_colours(panel)
    return panel


def single(
    title: str,
    description: str,
    query: Query,
    unit: str = "short",
    width: int = 4,
    steps: Sequence[tuple[float | None, str]] = ((None, "green"),),
) -> stat.Panel:
    """One number per series, coloured by thresholds, with its recent course behind it."""
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets([query]))
        .unit(unit)
        .span(width)
        .height(8)
        .thresholds(_thresholds(*steps))
        .color_mode(common_models.BigValueColorMode.BACKGROUND)
        .graph_mode(common_models.BigValueGraphMode.AREA)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
    )


def listing(title: str, description: str, query: Query, width: int = 12) -> table.Panel:
    """The labels and value of each series now, one row each (info metrics, versions)."""
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets([Query(query.expr, query.legend, instant=True)]))
        .span(width)
        .height(6)
        .with_transformation(
            models.DataTransformerConfig(
                id_val="labelsToFields", options={"mode": "columns", "keepLabels": []}
            )
        )
    )


def ranking(title: str, description: str, query: Query, width: int = 12) -> bargauge.Panel:
    """Horizontal bars, largest first: the top rules."""
    return (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets([Query(query.expr, query.legend, instant=True)]))
        .span(width)
        .height(10)
        .unit("short")
        .min(0)
        .orientation(common_models.VizOrientation.HORIZONTAL)
        .display_mode(common_models.BarGaugeDisplayMode.BASIC)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
        .with_transformation(
            models.DataTransformerConfig(
                id_val="sortBy", options={"sort": [{"field": "Value", "desc": True}]}
            )
        )
    )


@dataclass(frozen=True)
class Row:
    title: str
    panels: Sequence[PanelBuilder]


def _dashboard(uid: str, title: str, description: str, rows: Sequence[Row]) -> dict[str, object]:
    builder = (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["screening", "customs"])
        .editable()
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("utc")
        .tooltip(models.DashboardCursorSync.CROSSHAIR)
    )
    for row in rows:
        builder.with_row(dash.Row(row.title))
        for panel in row.panels:
            builder.with_panel(panel)
    built = builder.build()
    for number, built_panel in enumerate(built.panels or [], start=1):
        built_panel.id_val = number
    document: dict[str, object] = json.loads(json.dumps(built, cls=JSONEncoder))
    return document


def operations() -> dict[str, object]:
    """For customs IT: is every declaration screened, quickly, by every worker, with current
    reference data and one rule set?"""
    consumed = f"sum(rate(screening_declarations_consumed_total{{{JOB}}}[{RATE}]))"
    throughput = Row(
        "Throughput and errors",
        [
            graph(
                "Declarations consumed",
                "Records taken from customs.declarations.v1, all workers.",
                [Query(consumed, "consumed")],
                unit="reqps",
            ),
            graph(
                "Assessments by outcome",
                "Assessments produced per second, by outcome.",
                [
                    Query(
                        f"sum by (outcome) (rate(screening_assessments_total{{{JOB}}}[{RATE}]))",
                        "{{outcome}}",
                    )
                ],
                unit="reqps",
                stacked=True,
                outcomes=True,
            ),
            graph(
                "Dead letters by code",
                "Messages sent to customs.declarations.dlq.v1 per second, by rejection code.",
                [
                    Query(
                        f"sum by (code) (rate(screening_rejections_total{{{JOB}}}[{RATE}]))",
                        "{{code}}",
                    )
                ],
                unit="reqps",
                stacked=True,
            ),
            single(
                "Dead-letter share (5 min)",
                "Share of consumed records rejected; the alert fires above 5 % for 10 minutes.",
                Query("job:screening_rejections:ratio_rate5m", "{{job}}"),
                unit="percentunit",
                steps=((None, "green"), (0.02, "orange"), (0.05, "red")),
            ),
            graph(
                "Batch size",
                "Declarations per batch: median and mean. Large batches mean the worker is "
                "catching up.",
                [
                    Query(
                        "histogram_quantile(0.5, sum by (le) "
                        f"(rate(screening_batch_size_bucket{{{JOB}}}[{RATE}])))",
                        "median",
                    ),
                    Query(
                        f"sum(rate(screening_batch_size_sum{{{JOB}}}[{RATE}])) / "
                        f"sum(rate(screening_batch_size_count{{{JOB}}}[{RATE}]))",
                        "mean",
                    ),
                ],
                width=10,
            ),
            graph(
                "Batch processing time",
                "Time to screen a batch and have its outputs acknowledged by Kafka.",
                [
                    Query(
                        f"histogram_quantile({q}, sum by (le) "
                        f"(rate(screening_batch_processing_seconds_bucket{{{JOB}}}[{RATE}])))",
                        f"p{round(q * 100)}",
                    )
                    for q in (0.5, 0.99)
                ],
                unit="s",
                width=10,
            ),
        ],
    )
    latency = Row(
        "Latency",
        [
            graph(
                "End-to-end latency from Kafka",
                "From the declaration's Kafka record timestamp to its assessment acknowledged "
                "by Kafka (5-minute percentiles). Objective: p99 within 1 s.",
                [
                    Query(
                        f'job_source:screening_end_to_end_latency_seconds:{p}_5m{{source="kafka_timestamp"}}',
                        p,
                    )
                    for p in ("p50", "p90", "p99")
                ],
                unit="s",
                width=10,
                limit=(0.5, 1.0),
            ),
            graph(
                "End-to-end latency from submission",
                "From the filer's submitted_at; includes the filer's gateway and clock skew.",
                [
                    Query(
                        f'job_source:screening_end_to_end_latency_seconds:{p}_5m{{source="submitted_at"}}',
                        p,
                    )
                    for p in ("p50", "p99")
                ],
                unit="s",
                width=10,
            ),
            single(
                "Within objective",
                "Share of declarations assessed within 1 s of reaching Kafka.",
                Query(
                    "sum(rate(screening_end_to_end_latency_seconds_bucket"
                    f'{{{JOB},source="kafka_timestamp",le="1.0"}}[{RATE}])) / '
                    "sum(rate(screening_end_to_end_latency_seconds_count"
                    f'{{{JOB},source="kafka_timestamp"}}[{RATE}]))',
                    "within 1 s",
                ),
                unit="percentunit",
                steps=((None, "red"), (0.99, "green")),
            ),
        ],
    )
    lag = Row(
        "Consumer lag",
        [
            graph(
                "Lag age by partition",
                "Age of the oldest declaration not yet screened; 0 when caught up. Alerts at "
                "60 s (warning) and 300 s (critical).",
                [Query("partition:screening_consumer_lag_seconds:max", "partition {{partition}}")],
                unit="s",
                width=10,
                limit=(60, 300),
            ),
            graph(
                "Lag by partition",
                "Declarations not yet screened, per partition of customs.declarations.v1.",
                [
                    Query(
                        f"sum by (partition) (screening_consumer_lag_messages{{{JOB}}})",
                        "partition {{partition}}",
                    )
                ],
                width=10,
                stacked=True,
            ),
            single(
                "Oldest waiting",
                "The worst lag age over all partitions.",
                Query("job:screening_consumer_lag_seconds:max", "{{job}}"),
                unit="s",
                steps=((None, "green"), (60, "orange"), (300, "red")),
            ),
        ],
    )
    workers = Row(
        "Per worker",
        [
            single(
                "Workers up",
                "Workers that answered the last scrape, of those Prometheus knows.",
                Query(f"sum(up{{{JOB}}})", "up"),
                steps=((None, "red"), (1, "green")),
            ),
            graph(
                "Consumed by worker",
                "Declarations consumed per second by each worker.",
                [Query("instance:screening_declarations_consumed:rate5m", "{{instance}}")],
                unit="reqps",
                width=7,
            ),
            graph(
                "Lag by worker",
                "Declarations waiting in each worker's partitions.",
                [Query("instance:screening_consumer_lag_messages:sum", "{{instance}}")],
                width=7,
            ),
            graph(
                "Since the last batch",
                "Seconds since each worker completed a batch (high while idle without lag is "
                "fine).",
                [
                    Query(
                        f"time() - screening_last_processed_timestamp_seconds{{{JOB}}}",
                        "{{instance}}",
                    )
                ],
                unit="s",
                width=6,
            ),
            listing(
                "Worker builds",
                "Version of each worker and of the Python and Faust it runs on.",
                Query(f"screening_build_info{{{JOB}}}"),
                width=24,
            ),
        ],
    )
    reference = Row(
        "Reference data and rule set",
        [
            graph(
                "Reference records",
                "Records held in memory by each worker, by dataset.",
                [
                    Query(
                        f"screening_reference_records{{{JOB}}}",
                        "{{instance}} {{dataset}}",
                    )
                ],
                width=8,
            ),
            graph(
                "Reference data age",
                "Time since the newest reference record applied; the alert fires above 36 h.",
                [Query("instance:screening_reference_age_seconds", "{{instance}} {{dataset}}")],
                unit="s",
                width=8,
                limit=(24 * 3600, 36 * 3600),
            ),
            single(
                "Rule-set versions in use",
                "Distinct rule sets the workers screen with; more than 1 for 15 minutes alerts.",
                Query("job:screening_ruleset_versions:count", "{{job}}"),
                steps=((None, "green"), (2, "orange")),
            ),
            single(
                "Rule set age",
                "Time since the rule set in use was published.",
                Query(
                    f"time() - max(screening_ruleset_published_timestamp_seconds{{{JOB}}})",
                    "age",
                ),
                unit="s",
            ),
            graph(
                "Rules by mode",
                "Active and shadow rules in the rule set in use.",
                [
                    Query(
                        f"max by (mode) (screening_ruleset_rules{{{JOB}}})",
                        "{{mode}}",
                    )
                ],
                width=8,
            ),
            listing(
                "Rule set by worker",
                "The rule-set version each worker screens with.",
                Query(f"screening_ruleset_info{{{JOB}}}"),
                width=16,
            ),
            graph(
                "Rule sets refused",
                "Published rule sets that workers refused (they failed the worker's checks and "
                "the running set stayed), over the last hour.",
                [
                    Query(
                        "sum by (instance) "
                        f"(increase(screening_ruleset_refused_total{{{JOB}}}[1h]))",
                        "{{instance}}",
                    )
                ],
                width=12,
            ),
            listing(
                "Latest rule set refused, by worker",
                "Workers that refused the latest published rule set and screen with an earlier "
                "one; the alert fires after 5 minutes (screening rules status shows the same).",
                Query(f"screening_ruleset_refused_info{{{JOB}}}"),
                width=12,
            ),
        ],
    )
    return _dashboard(
        "screening-operations",
        "Screening: operations",
        "Throughput, errors, latency, lag, workers, reference data and rule set of the "
        "screening pipeline.",
        [throughput, latency, lag, workers, reference],
    )


def targeting() -> dict[str, object]:
    """For targeting officers and risk analysts: what the rules refer, and how often."""
    referrals = Row(
        "Referrals",
        [
            graph(
                "Referrals by outcome",
                "Hits published to customs.targeting.hits.v1 per second, by outcome.",
                [
                    Query(
                        f"sum by (outcome) (rate(screening_hits_total{{{JOB}}}[{RATE}]))",
                        "{{outcome}}",
                    )
                ],
                unit="reqps",
                width=12,
                stacked=True,
                outcomes=True,
            ),
            ranking(
                "Referrals in the time range",
                "Hits published over the dashboard's time range, by outcome.",
                Query(
                    f"sum by (outcome) (increase(screening_hits_total{{{JOB}}}[$__range]))",
                    "{{outcome}}",
                ),
                width=6,
            ),
            single(
                "Referral rate",
                "Share of assessed declarations (invalidations aside) referred to officers.",
                Query(
                    f"sum(rate(screening_hits_total{{{JOB}}}[{RATE}])) / "
                    "sum(rate(screening_assessments_total"
                    f'{{{JOB},outcome!="INVALIDATED"}}[{RATE}]))',
                    "referred",
                ),
                unit="percentunit",
                width=6,
            ),
            graph(
                "Referrals withdrawn",
                "Open referrals closed by a later version or an invalidation, per second.",
                [
                    Query(
                        f"sum(rate(screening_hit_tombstones_total{{{JOB}}}[{RATE}]))",
                        "withdrawn",
                    )
                ],
                unit="reqps",
                width=12,
            ),
            graph(
                "Assessments by outcome",
                "Every assessment per second, referrals and clearances alike.",
                [
                    Query(
                        f"sum by (outcome) (rate(screening_assessments_total{{{JOB}}}[{RATE}]))",
                        "{{outcome}}",
                    )
                ],
                unit="reqps",
                width=12,
                stacked=True,
                outcomes=True,
            ),
        ],
    )
    rules = Row(
        "Rules",
        [
            graph(
                "Active rule matches by rule",
                "Matches of active rules per second, by rule and the rule's action.",
                [
                    Query(
                        "sum by (rule_id, action) "
                        f"(rate(screening_rule_matches_total{{{JOB}}}[{RATE}]))",
                        "{{rule_id}} ({{action}})",
                    )
                ],
                unit="reqps",
                width=16,
            ),
            graph(
                "Matches by action",
                "Active rule matches per second, by the action the rule requests.",
                [
                    Query(
                        f"sum by (action) (rate(screening_rule_matches_total{{{JOB}}}[{RATE}]))",
                        "{{action}}",
                    )
                ],
                unit="reqps",
                width=8,
                stacked=True,
            ),
            ranking(
                "Top active rules",
                "The ten active rules that matched most over the time range.",
                Query(
                    "topk(10, sum by (rule_id, action) "
                    f"(increase(screening_rule_matches_total{{{JOB}}}[$__range])))",
                    "{{rule_id}} ({{action}})",
                ),
            ),
            ranking(
                "Top shadow rules",
                "The ten shadow rules that would have matched most over the time range: "
                "candidates for going live, or for a rewrite.",
                Query(
                    "topk(10, sum by (rule_id) "
                    f"(increase(screening_shadow_matches_total{{{JOB}}}[$__range])))",
                    "{{rule_id}}",
                ),
            ),
            graph(
                "Rule match rate against the estimate",
                "Matches per screened declaration over the last hour, by rule, and the "
                "backtest's estimate published with the rule set (legend: rule id and "
                "estimate); the alert fires outside a third to three times the estimate.",
                [
                    Query(f"job_rule:screening_rule_match:ratio_1h{{{JOB}}}", "{{rule_id}}"),
                    Query(
                        f"job_rule:screening_rule_expected_match:ratio{{{JOB}}}",
                        "{{rule_id}} estimate",
                    ),
                ],
                unit="percentunit",
                width=24,
            ),
            graph(
                "Shadow rule activity",
                "Matches of shadow-mode rules per second: recorded, never acted on.",
                [
                    Query(
                        f"sum by (rule_id) (rate(screening_shadow_matches_total{{{JOB}}}[{RATE}]))",
                        "{{rule_id}}",
                    )
                ],
                unit="reqps",
                width=24,
            ),
        ],
    )
    return _dashboard(
        "screening-targeting",
        "Screening: targeting",
        "Referrals by outcome, rule matches, shadow rule activity and rule effectiveness.",
        [referrals, rules, effectiveness(), safe_measures()],
    )


def effectiveness() -> Row:
    """What examinations found in each rule's referrals (docs/rule-effectiveness.md)."""
    findings = " + ".join(
        f"sum by (rule_id) (increase(screening_rule_{figure}_total{{{JOB}}}[$__range]))"
        for figure in ("seizures", "irregularities")
    )
    examinations = (
        f"sum by (rule_id) (increase(screening_rule_examinations_total{{{JOB}}}[$__range]))"
    )
    precision = f"({findings}) / {examinations}"
    baseline = (
        f"sum(increase(screening_unreferred_findings_total{{{JOB}}}[$__range])) / "
        f"sum(increase(screening_unreferred_examinations_total{{{JOB}}}[$__range]))"
    )
    return Row(
        "Rule effectiveness",
        [
            ranking(
                "Precision by rule",
                "Findings (seizures and irregularities) per examination of each rule's "
                "referrals, over the time range. Few examinations make it noise: the review "
                "uses `screening rules effectiveness`.",
                Query(precision, "{{rule_id}}"),
                width=9,
            )
            .unit("percentunit")
            .max(1),
            ranking(
                "Lift by rule",
                "Each rule's precision divided by the baseline: 1 is no better than "
                "examining declarations no rule referred.",
                Query(f"{precision} / on() group_left() ({baseline})", "{{rule_id}}"),
                width=9,
            ),
            single(
                "Baseline finding rate",
                "Findings per examination of declarations that no rule referred, over the "
                "time range.",
                Query(baseline, "baseline"),
                unit="percentunit",
                width=6,
            ),
            graph(
                "Examination results",
                "Examination results consumed per second: joined with their assessment, "
                "waiting for it, duplicates, conflicts, malformed, misrouted (see the logs).",
                [
                    Query(
                        "sum by (disposition) "
                        f"(rate(screening_examination_results_total{{{JOB}}}[{RATE}]))",
                        "{{disposition}}",
                    )
                ],
                unit="reqps",
                width=24,
                stacked=True,
            ),
        ],
    )


def safe_measures() -> Row:
    """WCO SAFE standard 8 over the time range: filings screened, referred, examined at random
    and what was found, and messages exchanged with partners (docs/customs-to-customs.md).

    The worker counts examinations of referrals per rule, not per outcome: the examinations of
    high-risk consignments (HRCM, DNL) as such are in ``screening report safe`` only.
    """
    screened = _range_sum("screening_assessments_total", f'{JOB},outcome!="INVALIDATED"')
    referred = _range_sum("screening_hits_total", JOB, by="outcome")
    random = f'{JOB},rule_id="{RANDOM_RULE_ID}"'
    # No random selection configured: no series at all, which is none examined, not no data.
    random_examinations = _or_zero(_range_sum("screening_rule_examinations_total", random))
    random_findings = " + ".join(
        _or_zero(_range_sum(f"screening_rule_{figure}_total", random))
        for figure in ("seizures", "irregularities")
    )
    sent = "screening_partner_messages_sent_total"
    # Every worker reads every partner message (pipeline/metrics.py): one worker's count is the
    # count, and a sum over workers would multiply it.
    received = (
        "max by (partner, kind, result) "
        f"(increase(screening_partner_messages_received_total{{{JOB}}}[$__range]))"
    )
    return Row(
        "SAFE performance measures",
        [
            single(
                "Filings screened",
                "Declaration versions assessed over the time range, invalidations apart.",
                Query(screened, "screened"),
                width=4,
            ),
            single(
                "Referred by outcome",
                "Referrals (hits published) over the time range, by outcome.",
                Query(referred, "{{outcome}}"),
                width=8,
            ),
            single(
                "Referred share by outcome",
                "Referrals over the time range per filing screened, by outcome.",
                Query(f"{referred} / on() group_left() ({screened})", "{{outcome}}"),
                unit="percentunit",
                width=8,
            ),
            single(
                "Examined at random",
                "Examinations (SEIZURE, IRREGULARITY, NO_FINDING) over the time range of "
                f"consignments selected at random ({RANDOM_RULE_ID}).",
                Query(random_examinations, "examined"),
                width=4,
            ),
            single(
                "Random selection hit rate",
                "Findings (seizures and irregularities) per examination of consignments "
                "selected at random: what chance finds, to compare targeting with.",
                Query(f"({random_findings}) / {random_examinations}", "hit rate"),
                unit="percentunit",
                width=6,
            ).mappings([_NAN_AS_NOT_APPLICABLE]),
            single(
                "Examination results joined",
                "Examination results joined with their assessment over the time range, "
                "NOT_EXAMINED included. By outcome and result: `screening report safe`.",
                Query(
                    _range_sum(
                        "screening_examination_results_total", f'{JOB},disposition="joined"'
                    ),
                    "joined",
                ),
                width=6,
            ),
            single(
                "Messages sent to partners",
                "PartnerMessages sent to partner administrations over the time range.",
                Query(_or_zero(_range_sum(sent, JOB)), "sent"),
                width=6,
            ),
            single(
                "Messages received from partners",
                "PartnerMessages read from partner administrations over the time range, "
                "applied or refused. A worker reads them all again when it starts, so a "
                "restart counts them again: `screening report safe` counts each message once.",
                Query(_or_zero(f"sum ({received})"), "received"),
                width=6,
            ),
            listing(
                "Sent to partners",
                "PartnerMessages sent over the time range, by partner administration and kind.",
                Query(_or_none_row(_range_sum(sent, JOB, by="partner, kind"))),
            ),
            listing(
                "Received from partners",
                "PartnerMessages read over the time range, by partner administration, kind "
                "and result: applied, or the reason it was refused.",
                Query(_or_none_row(received)),
            ),
        ],
    )


_NAN_AS_NOT_APPLICABLE = models.SpecialValueMap(
    options=models.DashboardSpecialValueMapOptions(
        match=models.SpecialValueMatch.NA_N, result=models.ValueMappingResult(text="n/a")
    )
)


def _range_sum(metric: str, matchers: str = "", by: str = "") -> str:
    grouping = f" by ({by})" if by else ""
    selector = f"{metric}{{{matchers}}}" if matchers else metric
    return f"sum{grouping} (increase({selector}[$__range]))"


def _or_zero(expr: str) -> str:
    return f"({expr} or on() vector(0))"


def _or_none_row(expr: str) -> str:
    """One row ``partner="none"`` at 0 when no partner has any: an empty table reads as broken."""
    return f'{expr} or on() label_replace(vector(0), "partner", "none", "", "")'


DASHBOARDS: dict[str, Callable[[], dict[str, object]]] = {
    "operations.json": operations,
    "targeting.json": targeting,
}


def render(build: Callable[[], dict[str, object]]) -> str:
    """The dashboard as the committed file holds it: stable key order, a final newline."""
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] = ()) -> int:
    check = "--check" in argv
    stale = []
    for name, build in DASHBOARDS.items():
        path = DASHBOARD_DIR / name
        text = render(build)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(
            f"out of date: {', '.join(stale)}; run python -m pipeline.ops.dashboards",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
