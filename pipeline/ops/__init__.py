"""Operating the pipeline: Grafana dashboards built from code, and PromQL helpers for checks.

Offers ``dashboards``, ``rules_configmap`` and ``settings_doc`` (generated files, each
``python -m pipeline.ops.<name> --check``) and ``promql``. Imports ``rules`` and ``settings``
only; nothing imports ``ops`` at run time.
"""
