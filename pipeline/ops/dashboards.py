"""The Grafana dashboards, built from code with grafana-foundation-sdk.

Grafana provisions the JSON files under deploy/grafana/dashboards/ that this module writes;
they are committed so that Grafana needs no Python. After changing a panel, regenerate them:

    python -m pipeline.ops.dashboards          # writes the JSON files
    python -m pipeline.ops.dashboards --check  # exit 1 when the files differ from the code

Every dashboard has the variables ``datasource`` (the Prometheus provisioned with the fixed
uid below by default, any other to choose), ``job`` and ``instance``: every query goes to
``${datasource}``, and every selector is filtered by the job and instance variables (added here,
in `_targets`, so that no query can miss them). Shared expressions (dead-letter share, latency
percentiles, lag, reference age) are the recording rules of deploy/prometheus/, so the
dashboards show what the alerts evaluate.

Each dashboard links the runbook, and each panel that an alert watches links the alert's
section. The runbook's address is read from ``SCREENING_RUNBOOK_BASE_URL`` when the files are
generated (default: the same placeholder as Prometheus' external label ``runbook_base``).
"""

from __future__ import annotations

import json
import os
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

from pipeline.ops.promql import add_matchers
from pipeline.rules.evaluator import RANDOM_RULE_ID

# The datasource provisioned by deploy/grafana/provisioning: the datasource variable's default.
DATASOURCE_UID = "screening-prometheus"
DATASOURCE = models.DataSourceRef(type_val="prometheus", uid="${datasource}")
DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
RATE = "$__rate_interval"
JOB_MATCHER = 'job=~"$job"'
INSTANCE_MATCHER = 'instance=~"$instance"'
RUNBOOK_VARIABLE = "SCREENING_RUNBOOK_BASE_URL"
# The same placeholder as the external label runbook_base of deploy/prometheus/prometheus.yml.
DEFAULT_RUNBOOK = "https://customs-screening.example/docs/runbook.md"
# Series whose version label changes when a worker takes up a new rule set, and whose
# timestamp changes with it (pipeline/worker/state_metrics.py).
RULESET_PUBLISHED = (
    "count by (version) (screening_ruleset_info and on (job, instance) "
    "(changes(screening_ruleset_published_timestamp_seconds[2m]) > 0))"
)

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


def scope(metric: str) -> str:
    """The variables' matchers for a selector of ``metric``.

    A recorded series (``level:metric:operations``, deploy/prometheus) keeps only the labels of
    its level: every rule there keeps ``job``, and ``instance`` only when its level names it; a
    matcher on a label a series lacks would match nothing once an instance is chosen.
    """
    if ":" in metric and "instance" not in metric.split(":")[0].split("_"):
        return JOB_MATCHER
    return f"{JOB_MATCHER},{INSTANCE_MATCHER}"


def scoped(expr: str) -> str:
    """``expr`` with every selector filtered by the dashboard's job and instance."""
    return add_matchers(expr, scope)


def runbook_base() -> str:
    return os.environ.get(RUNBOOK_VARIABLE, "").strip() or DEFAULT_RUNBOOK


def runbook_url(alert: str) -> str:
    """The alert's runbook section: its anchor is the alert name in lower case, as the alerts'
    runbook_url in deploy/prometheus/alerts.yml."""
    return f"{runbook_base()}#{alert.lower()}"


def alerting(panel: PanelBuilder, *alerts: str) -> PanelBuilder:
    """``panel``, linking the runbook section of each alert that watches what it shows."""
    return panel.links(
        [
            dash.DashboardLink(f"Runbook: {alert}")
            .type(models.DashboardLinkType.LINK)
            .url(runbook_url(alert))
            .target_blank(True)
            for alert in alerts
        ]
    )


def _targets(queries: Sequence[Query]) -> list[Builder[Dataquery]]:
    targets: list[Builder[Dataquery]] = []
    for ref, query in zip("ABCDEFGH", queries, strict=False):
        query_builder = (
            prometheus.Dataquery()
            .expr(scoped(query.expr))
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


_ALL = models.VariableOption(selected=True, text=["All"], value=["$__all"])


def _variables(jobs_from: str) -> list[Builder[models.VariableModel]]:
    """datasource, job and instance; ``jobs_from`` is a metric only the dashboard's jobs export."""
    return [
        dash.DatasourceVariable("datasource")
        .label("Data source")
        .type("prometheus")
        .current(
            models.VariableOption(selected=True, text="Screening Prometheus", value=DATASOURCE_UID)
        ),
        dash.QueryVariable("job")
        .label("Job")
        .datasource(DATASOURCE)
        .query(f"label_values({jobs_from}, job)")
        .multi(True)
        .include_all(True)
        .current(_ALL)
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(models.VariableSort.ALPHABETICAL_ASC),
        # From `up`, so that an instance that stopped exporting is still there to choose.
        dash.QueryVariable("instance")
        .label("Instance")
        .datasource(DATASOURCE)
        .query(f"label_values(up{{{JOB_MATCHER}}}, instance)")
        .multi(True)
        .include_all(True)
        .current(_ALL)
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(models.VariableSort.ALPHABETICAL_ASC),
    ]


def _ruleset_annotation(filtered: bool) -> Builder[models.AnnotationQuery]:
    """A mark where a worker took up a newly published rule set, named by its version;
    ``filtered``: of the dashboard's jobs and instances (the workers' dashboards)."""
    expr = scoped(RULESET_PUBLISHED) if filtered else RULESET_PUBLISHED
    return (
        dash.AnnotationQuery()
        .name("Rule set published")
        .datasource(DATASOURCE)
        .expr(expr)
        .enable(True)
        .icon_color("purple")
    )


# Prometheus annotation fields that the SDK's AnnotationQuery does not model.
_ANNOTATION_FORMAT = {"step": "1m", "titleFormat": "Rule set {{version}}", "tagKeys": "version"}


def _dashboard(
    uid: str,
    title: str,
    description: str,
    rows: Sequence[Row],
    jobs_from: str = "screening_build_info",
    worker: bool = True,
) -> dict[str, object]:
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
        .variables(_variables(jobs_from))
        .annotation(_ruleset_annotation(filtered=worker))
        .link(
            dash.DashboardLink("Runbook")
            .type(models.DashboardLinkType.LINK)
            .url(runbook_base())
            .icon("doc")
            .tooltip("What to do when an alert fires (docs/runbook.md)")
            .target_blank(True)
        )
    )
    for row in rows:
        builder.with_row(dash.Row(row.title))
        for panel in row.panels:
            builder.with_panel(panel)
    built = builder.build()
    for number, built_panel in enumerate(built.panels or [], start=1):
        built_panel.id_val = number
    document: dict[str, object] = json.loads(json.dumps(built, cls=JSONEncoder))
    annotations = document["annotations"]
    assert isinstance(annotations, dict)
    for annotation in annotations["list"]:
        annotation.update(_ANNOTATION_FORMAT)
    return document


def process_panels(who: str) -> list[PanelBuilder]:
    """Memory, CPU and open files of each process (prometheus-client's standard collectors)."""
    return [
        graph(
            f"Memory by {who}",
            f"Resident memory of each {who} process.",
            [Query("process_resident_memory_bytes", "{{instance}}")],
            unit="bytes",
        ),
        graph(
            f"CPU by {who}",
            f"CPU time used per second by each {who} process (1 is one core busy).",
            [Query(f"rate(process_cpu_seconds_total[{RATE}])", "{{instance}}")],
        ),
        graph(
            f"Open files by {who}",
            f"File descriptors each {who} process holds, against its limit.",
            [
                Query("process_open_fds", "{{instance}}"),
                Query("process_max_fds", "{{instance}} limit"),
            ],
        ),
    ]


def operations() -> dict[str, object]:
    """For customs IT: is every declaration screened, quickly, by every worker, with current
    reference data and one rule set?"""
    consumed = f"sum(rate(screening_declarations_consumed_total[{RATE}]))"
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
                        f"sum by (outcome) (rate(screening_assessments_total[{RATE}]))",
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
                        f"sum by (code) (rate(screening_rejections_total[{RATE}]))",
                        "{{code}}",
                    )
                ],
                unit="reqps",
                stacked=True,
            ),
            alerting(
                single(
                    "Dead-letter share (5 min)",
                    "Share of consumed records rejected; the alert fires above 5 % for 10 minutes.",
                    Query("job:screening_rejections:ratio_rate5m", "{{job}}"),
                    unit="percentunit",
                    steps=((None, "green"), (0.02, "orange"), (0.05, "red")),
                ),
                "ScreeningDeadLetterSpike",
            ),
            graph(
                "Batch size",
                "Declarations per batch: median and mean. Large batches mean the worker is "
                "catching up.",
                [
                    Query(
                        "histogram_quantile(0.5, sum by (le) "
                        f"(rate(screening_batch_size_bucket[{RATE}])))",
                        "median",
                    ),
                    Query(
                        f"sum(rate(screening_batch_size_sum[{RATE}])) / "
                        f"sum(rate(screening_batch_size_count[{RATE}]))",
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
                        f"(rate(screening_batch_processing_seconds_bucket[{RATE}])))",
                        f"p{round(q * 100)}",
                    )
                    for q in (0.5, 0.99)
                ],
                unit="s",
                width=10,
            ),
            graph(
                "Notices to filers by kind",
                "Notices produced on customs.filer.notices.v1 per second, by kind.",
                [
                    Query(
                        f"sum by (kind) (rate(screening_filer_notices_total[{RATE}]))",
                        "{{kind}}",
                    )
                ],
                unit="reqps",
                width=12,
                stacked=True,
            ),
            graph(
                "Notices not sent",
                "Notices not sent because the message named no filer, per second, by the kind "
                "they would have been.",
                [
                    Query(
                        f"sum by (kind) (rate(screening_filer_notices_unaddressed_total[{RATE}]))",
                        "{{kind}}",
                    )
                ],
                unit="reqps",
                width=12,
                stacked=True,
            ),
        ],
    )
    latency = Row(
        "Latency",
        [
            alerting(
                graph(
                    "End-to-end latency from Kafka",
                    "From the declaration's Kafka record timestamp to its assessment "
                    "acknowledged by Kafka (5-minute percentiles). Objective: p99 within 1 s.",
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
                "ScreeningLatencyObjectiveMissed",
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
            alerting(
                single(
                    "Within objective",
                    "Share of declarations assessed within 1 s of reaching Kafka.",
                    Query(
                        "sum(rate(screening_end_to_end_latency_seconds_bucket"
                        f'{{source="kafka_timestamp",le="1.0"}}[{RATE}])) / '
                        "sum(rate(screening_end_to_end_latency_seconds_count"
                        f'{{source="kafka_timestamp"}}[{RATE}]))',
                        "within 1 s",
                    ),
                    unit="percentunit",
                    steps=((None, "red"), (0.99, "green")),
                ),
                "ScreeningLatencyObjectiveMissed",
            ),
        ],
    )
    lag = Row(
        "Consumer lag",
        [
            alerting(
                graph(
                    "Lag age by partition",
                    "Age of the oldest declaration not yet screened; 0 when caught up. Alerts at "
                    "60 s (warning) and 300 s (critical).",
                    [
                        Query(
                            "partition:screening_consumer_lag_seconds:max",
                            "partition {{partition}}",
                        )
                    ],
                    unit="s",
                    width=10,
                    limit=(60, 300),
                ),
                "ScreeningConsumerLagHigh",
                "ScreeningConsumerLagCritical",
            ),
            graph(
                "Lag by partition",
                "Declarations not yet screened, per partition of customs.declarations.v1.",
                [
                    Query(
                        "sum by (partition) (screening_consumer_lag_messages)",
                        "partition {{partition}}",
                    )
                ],
                width=10,
                stacked=True,
            ),
            alerting(
                single(
                    "Oldest waiting",
                    "The worst lag age over all partitions.",
                    Query("job:screening_consumer_lag_seconds:max", "{{job}}"),
                    unit="s",
                    steps=((None, "green"), (60, "orange"), (300, "red")),
                ),
                "ScreeningConsumerLagHigh",
                "ScreeningConsumerLagCritical",
            ),
            alerting(
                graph(
                    "Partitions read again",
                    "Seeks of a declarations partition back to its first declaration not "
                    "screened, per hour, by reason. dropped, skipped and beyond_hole come with "
                    "rebalances and restarts; stalled is a partition the worker found left "
                    "unread for a minute.",
                    [
                        Query(
                            "sum by (reason) (increase(screening_partition_rewinds_total[1h]))",
                            "{{reason}}",
                        )
                    ],
                    width=24,
                ),
                "ScreeningPartitionStalled",
            ),
        ],
    )
    workers = Row(
        "Per worker",
        [
            alerting(
                single(
                    "Workers up",
                    "Workers that answered the last scrape, of those Prometheus knows.",
                    Query("sum(up)", "up"),
                    steps=((None, "red"), (1, "green")),
                ),
                "ScreeningWorkerDown",
                "ScreeningWorkersAbsent",
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
            alerting(
                graph(
                    "Since the last batch",
                    "Seconds since each worker completed a batch (high while idle without lag "
                    "is fine).",
                    [
                        Query(
                            "time() - screening_last_processed_timestamp_seconds",
                            "{{instance}}",
                        )
                    ],
                    unit="s",
                    width=6,
                ),
                "ScreeningPipelineStalled",
            ),
            *process_panels("worker"),
            listing(
                "Worker builds",
                "Version of each worker and of the Python and Faust it runs on.",
                Query("screening_build_info"),
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
                        "screening_reference_records",
                        "{{instance}} {{dataset}}",
                    )
                ],
                width=8,
            ),
            alerting(
                graph(
                    "Reference data age",
                    "Time since the newest reference record applied; the alert fires above 36 h.",
                    [Query("instance:screening_reference_age_seconds", "{{instance}} {{dataset}}")],
                    unit="s",
                    width=8,
                    limit=(24 * 3600, 36 * 3600),
                ),
                "ScreeningReferenceDataStale",
            ),
            alerting(
                single(
                    "Rule-set versions in use",
                    "Distinct rule sets the workers screen with; more than 1 for 15 minutes "
                    "alerts.",
                    Query("job:screening_ruleset_versions:count", "{{job}}"),
                    steps=((None, "green"), (2, "orange")),
                ),
                "ScreeningRuleSetVersionsDiffer",
            ),
            single(
                "Rule set age",
                "Time since the rule set in use was published.",
                Query(
                    "time() - max(screening_ruleset_published_timestamp_seconds)",
                    "age",
                ),
                unit="s",
            ),
            alerting(
                graph(
                    "Rules by mode",
                    "Active and shadow rules in the rule set in use.",
                    [
                        Query(
                            "max by (mode) (screening_ruleset_rules)",
                            "{{mode}}",
                        )
                    ],
                    width=8,
                ),
                "ScreeningNoActiveRules",
            ),
            listing(
                "Rule set by worker",
                "The rule-set version each worker screens with.",
                Query("screening_ruleset_info"),
                width=16,
            ),
            graph(
                "Rule sets refused",
                "Published rule sets that workers refused (they failed the worker's checks and "
                "the running set stayed), over the last hour.",
                [
                    Query(
                        "sum by (instance) (increase(screening_ruleset_refused_total[1h]))",
                        "{{instance}}",
                    )
                ],
                width=12,
            ),
            alerting(
                listing(
                    "Latest rule set refused, by worker",
                    "Workers that refused the latest published rule set and screen with an "
                    "earlier one; the alert fires after 5 minutes (screening rules status shows "
                    "the same).",
                    Query("screening_ruleset_refused_info"),
                    width=12,
                ),
                "ScreeningRuleSetRefused",
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
                        f"sum by (outcome) (rate(screening_hits_total[{RATE}]))",
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
                    "sum by (outcome) (increase(screening_hits_total[$__range]))",
                    "{{outcome}}",
                ),
                width=6,
            ),
            single(
                "Referral rate",
                "Share of assessed declarations (invalidations aside) referred to officers.",
                Query(
                    f"sum(rate(screening_hits_total[{RATE}])) / "
                    "sum(rate(screening_assessments_total"
                    f'{{outcome!="INVALIDATED"}}[{RATE}]))',
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
                        f"sum(rate(screening_hit_tombstones_total[{RATE}]))",
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
                        f"sum by (outcome) (rate(screening_assessments_total[{RATE}]))",
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
                        f"sum by (rule_id, action) (rate(screening_rule_matches_total[{RATE}]))",
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
                        f"sum by (action) (rate(screening_rule_matches_total[{RATE}]))",
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
                    "(increase(screening_rule_matches_total[$__range])))",
                    "{{rule_id}} ({{action}})",
                ),
            ),
            ranking(
                "Top shadow rules",
                "The ten shadow rules that would have matched most over the time range: "
                "candidates for going live, or for a rewrite.",
                Query(
                    "topk(10, sum by (rule_id) "
                    "(increase(screening_shadow_matches_total[$__range])))",
                    "{{rule_id}}",
                ),
            ),
            alerting(
                graph(
                    "Rule match rate against the estimate",
                    "Matches per screened declaration over the last hour, by rule, and the "
                    "backtest's estimate published with the rule set (legend: rule id and "
                    "estimate); the alert fires outside a third to three times the estimate.",
                    [
                        Query("job_rule:screening_rule_match:ratio_1h", "{{rule_id}}"),
                        Query(
                            "job_rule:screening_rule_expected_match:ratio",
                            "{{rule_id}} estimate",
                        ),
                    ],
                    unit="percentunit",
                    width=24,
                ),
                "ScreeningRuleRateOffEstimate",
            ),
            graph(
                "Shadow rule activity",
                "Matches of shadow-mode rules per second: recorded, never acted on.",
                [
                    Query(
                        f"sum by (rule_id) (rate(screening_shadow_matches_total[{RATE}]))",
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
        f"sum by (rule_id) (increase(screening_rule_{figure}_total[$__range]))"
        for figure in ("seizures", "irregularities")
    )
    examinations = "sum by (rule_id) (increase(screening_rule_examinations_total[$__range]))"
    precision = f"({findings}) / {examinations}"
    baseline = (
        "sum(increase(screening_unreferred_findings_total[$__range])) / "
        "sum(increase(screening_unreferred_examinations_total[$__range]))"
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
                        f"sum by (disposition) (rate(screening_examination_results_total[{RATE}]))",
                        "{{disposition}}",
                    )
                ],
                unit="reqps",
                width=24,
                stacked=True,
            ),
            ranking(
                "Referrals by rule",
                "Declaration versions referred (RFI, HRCM, DNL) in which each active rule "
                "matched, over the time range: the referrals that precision is measured on.",
                Query(
                    "topk(10, sum by (rule_id) "
                    "(increase(screening_rule_referrals_total[$__range])))",
                    "{{rule_id}}",
                ),
            ),
            graph(
                "Examination join",
                "Per second: assessments taken into the examination join (joined, or a "
                "duplicate of a version already joined), waiting examination results joined "
                "when their assessment came, and join entries deleted after the join's horizon.",
                [
                    Query(
                        "sum by (disposition) "
                        f"(rate(screening_feedback_assessments_total[{RATE}]))",
                        "assessments {{disposition}}",
                    ),
                    Query(
                        f"sum(rate(screening_examination_results_joined_late_total[{RATE}]))",
                        "results joined late",
                    ),
                    Query(
                        f"sum(rate(screening_feedback_entries_expired_total[{RATE}]))",
                        "entries expired",
                    ),
                ],
                unit="reqps",
                width=12,
            ),
        ],
    )


def safe_measures() -> Row:
    """WCO SAFE standard 8 over the time range: filings screened, referred, examined at random
    and what was found, and messages exchanged with partners (docs/customs-to-customs.md).

    The worker counts examinations of referrals per rule, not per outcome: the examinations of
    high-risk consignments (HRCM, DNL) as such are in ``screening report safe`` only.
    """
    screened = _range_sum("screening_assessments_total", 'outcome!="INVALIDATED"')
    referred = _range_sum("screening_hits_total", by="outcome")
    random = f'rule_id="{RANDOM_RULE_ID}"'
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
        "(increase(screening_partner_messages_received_total[$__range]))"
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
                    _range_sum("screening_examination_results_total", 'disposition="joined"'),
                    "joined",
                ),
                width=6,
            ),
            single(
                "Messages sent to partners",
                "PartnerMessages sent to partner administrations over the time range.",
                Query(_or_zero(_range_sum(sent)), "sent"),
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
                Query(_or_none_row(_range_sum(sent, by="partner, kind"))),
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


def workbench() -> dict[str, object]:
    """For customs IT: does the officers' workbench take in every hit, publish what officers
    decide, reach its database, and are referrals answered in time?"""
    intake = Row(
        "Intake",
        [
            graph(
                "Records applied by topic",
                "Kafka records applied to the case store per second, by topic and what they did.",
                [
                    Query(
                        f"sum by (topic, effect) (rate(screening_workbench_records_total[{RATE}]))",
                        "{{topic}} {{effect}}",
                    )
                ],
                unit="reqps",
                width=12,
                stacked=True,
            ),
            graph(
                "Ingest delay",
                "From a hit's assessment to its case committed in the database (5-minute "
                "percentiles).",
                [
                    Query(
                        f"histogram_quantile({q}, sum by (le) "
                        "(rate(screening_workbench_ingest_delay_seconds_bucket[5m])))",
                        f"p{round(q * 100)}",
                    )
                    for q in (0.5, 0.99)
                ],
                unit="s",
                width=8,
            ),
            graph(
                "Ingest failures",
                "Batches not applied because the database failed, over 5 minutes; they are "
                "read again.",
                [
                    Query(
                        "sum by (instance) "
                        "(increase(screening_workbench_ingest_failures_total[5m]))",
                        "{{instance}}",
                    )
                ],
                width=4,
            ),
        ],
    )
    outbox = Row(
        "Database and outbox",
        [
            alerting(
                single(
                    "Workbench up",
                    "Workbench processes that answered the last scrape.",
                    Query("sum(up)", "up"),
                    steps=((None, "red"), (1, "green")),
                ),
                "ScreeningWorkbenchDown",
            ),
            alerting(
                single(
                    "Database reachable",
                    "1 while each workbench reaches its database.",
                    Query("min(screening_workbench_database_up)", "database"),
                    steps=((None, "red"), (1, "green")),
                ),
                "ScreeningWorkbenchDatabaseDown",
            ),
            alerting(
                graph(
                    "Outbox pending",
                    "Outbox records not yet acknowledged by Kafka: officers' decisions waiting "
                    "to be published.",
                    [Query("screening_workbench_outbox_pending", "{{instance}}")],
                ),
                "ScreeningWorkbenchOutboxStuck",
            ),
            graph(
                "Outbox published by topic",
                "Records published from the outbox per second, by topic.",
                [
                    Query(
                        "sum by (topic) "
                        f"(rate(screening_workbench_outbox_published_total[{RATE}]))",
                        "{{topic}}",
                    )
                ],
                unit="reqps",
            ),
        ],
    )
    cases = Row(
        "Cases and referrals",
        [
            alerting(
                graph(
                    "Overdue referrals",
                    "Open referrals escalated for a missed deadline, by outcome.",
                    [
                        Query(
                            "max by (outcome) (screening_workbench_overdue_referrals)",
                            "{{outcome}}",
                        )
                    ],
                    stacked=True,
                    outcomes=True,
                ),
                "ScreeningReferralsOverdue",
            ),
            ranking(
                "Deadlines missed",
                "Referrals escalated over the time range because no response came in time, "
                "by outcome (0: none missed).",
                Query(
                    _or_zero(
                        _range_sum("screening_workbench_deadlines_missed_total", by="outcome")
                    ),
                    "{{outcome}}",
                ),
                width=8,
            ),
            graph(
                "Case actions by kind",
                "Changes officers made to cases per second, by kind (0: none).",
                [
                    Query(
                        _or_zero(
                            f"sum by (kind) (rate(screening_workbench_case_actions_total[{RATE}]))"
                        ),
                        "{{kind}}",
                    )
                ],
                unit="reqps",
                stacked=True,
            ),
            graph(
                "Partner messages refused",
                "Partner administrations' messages the workbench did not apply, over 5 "
                "minutes, by reason (0: none).",
                [
                    Query(
                        _or_zero(
                            "sum by (reason) "
                            "(increase(screening_workbench_partner_messages_refused_total[5m]))"
                        ),
                        "{{reason}}",
                    )
                ],
                width=24,
            ),
        ],
    )
    process = Row("Processes", process_panels("workbench"))
    return _dashboard(
        "screening-workbench",
        "Screening: workbench",
        "Intake of hits into cases, the database and the outbox, overdue referrals and officers' "
        "actions of the targeting officers' workbench.",
        [intake, outbox, cases, process],
        jobs_from="screening_workbench_database_up",
        worker=False,
    )


def archive() -> dict[str, object]:
    """For customs IT: does the archiver keep writing every topic and committing after it?
    A dashboard of its own: its job is neither the workers' nor the workbench's."""
    written = Row(
        "Archive",
        [
            graph(
                "Records archived by topic",
                "Kafka records written to archive files per second, by topic.",
                [
                    Query(
                        f"sum by (topic) (rate(screening_archive_records_total[{RATE}]))",
                        "{{topic}}",
                    )
                ],
                unit="reqps",
                width=16,
                stacked=True,
            ),
            alerting(
                single(
                    "Since the last commit",
                    "Time since the archiver last committed its offsets after writing the files "
                    "before them (empty until its first commit).",
                    Query(
                        "time() - max(screening_archive_last_commit_timestamp_seconds > 0)",
                        "since commit",
                    ),
                    unit="s",
                    steps=((None, "green"), (600, "orange"), (1800, "red")),
                ),
                "ScreeningArchiveStalled",
            ),
            alerting(
                single(
                    "Archiver up",
                    "Archiver processes that answered the last scrape.",
                    Query("sum(up)", "up"),
                    steps=((None, "red"), (1, "green")),
                ),
                "ScreeningArchiveDown",
            ),
            graph(
                "Bytes written",
                "Bytes of Parquet files written to the archive per second.",
                [Query(f"sum(rate(screening_archive_bytes_total[{RATE}]))", "bytes")],
                unit="Bps",
            ),
            graph(
                "Files written",
                "Parquet files written per second (one per topic, partition and day of a batch).",
                [Query(f"sum(rate(screening_archive_files_total[{RATE}]))", "files")],
            ),
            graph(
                "Commit failures",
                "Batches written but not committed over 5 minutes, read again (0: none).",
                [
                    Query(
                        _or_zero("sum(increase(screening_archive_commit_failures_total[5m]))"),
                        "failures",
                    )
                ],
            ),
        ],
    )
    process = Row("Processes", process_panels("archiver"))
    return _dashboard(
        "screening-archive",
        "Screening: archive",
        "Records the archiver writes to the Parquet archive by topic, its commits and its process.",
        [written, process],
        jobs_from="screening_archive_last_commit_timestamp_seconds",
        worker=False,
    )


DASHBOARDS: dict[str, Callable[[], dict[str, object]]] = {
    "archive.json": archive,
    "operations.json": operations,
    "targeting.json": targeting,
    "workbench.json": workbench,
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
