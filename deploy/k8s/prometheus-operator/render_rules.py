"""Write prometheusrule.yaml: deploy/prometheus/recording.yml and alerts.yml as one
PrometheusRule of the Prometheus Operator, their groups unchanged.

    python deploy/k8s/prometheus-operator/render_rules.py

tests/deploy/test_monitoring_config.py fails when the committed file is out of date.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
RULES_DIR = HERE.parents[1] / "prometheus"
RULE_FILES = ("recording.yml", "alerts.yml")
MANIFEST = HERE / "prometheusrule.yaml"
HEADER = """\
# Generated from deploy/prometheus/recording.yml and alerts.yml by render_rules.py beside this
# file: edit those and run it again. The alerts' runbook_url reads the external label
# runbook_base: set it in the Prometheus resource (spec.externalLabels), see kustomization.yaml.
"""


def groups() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name in RULE_FILES:
        found.extend(yaml.safe_load((RULES_DIR / name).read_text(encoding="utf-8"))["groups"])
    return found


def manifest() -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "customs-screening",
            "labels": {
                "app.kubernetes.io/name": "customs-screening",
                "app.kubernetes.io/component": "monitoring",
            },
        },
        "spec": {"groups": groups()},
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line expressions and texts as literal blocks, readable as in the rule files."""


def _string(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _string)


def render() -> str:
    body = yaml.dump(manifest(), Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
    return HEADER + body


if __name__ == "__main__":
    MANIFEST.write_text(render(), encoding="utf-8")
