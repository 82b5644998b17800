"""The standard collectors of a Prometheus registry: what the default registry would export, on
a registry of the project's own (the worker's and the workbench's are separate processes)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector


def register_standard_collectors(registry: CollectorRegistry) -> None:
    """Export the process's memory, CPU, open files, garbage collection and Python version
    (``process_*``, ``python_*``) on ``registry``."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
