"""Operating the pipeline: Grafana dashboards built from code, and PromQL helpers for checks."""
