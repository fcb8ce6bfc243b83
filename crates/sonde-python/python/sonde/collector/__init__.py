"""Spec 003 (``utilityfog_frontend.telemetry``) on Sonde's core.

A :class:`TelemetryCollector` registers counters, gauges and histograms
(Sonde instruments in a registry of its own), records structured events
and runs a periodic collection loop under asyncio; exporters write its
metrics as a Prometheus textfile (:class:`PrometheusAdapter`) or JSON
(:class:`JSONExporter`), to several places at once (:class:`MultiExporter`)
or on a schedule with retries (:class:`PeriodicExporter`).
"""

from sonde._native import Counter, Gauge, Histogram
from sonde.collector.collector import (
    Metric,
    MetricType,
    TelemetryCollector,
    setup_coordination_hooks,
    setup_health_hooks,
    setup_messaging_hooks,
)
from sonde.collector.exporter import (
    JSONExporter,
    MetricsExporter,
    MultiExporter,
    PeriodicExporter,
    PrometheusAdapter,
)

__all__ = [
    "Counter",
    "Gauge",
    "Histogram",
    "JSONExporter",
    "Metric",
    "MetricType",
    "MetricsExporter",
    "MultiExporter",
    "PeriodicExporter",
    "PrometheusAdapter",
    "TelemetryCollector",
    "setup_coordination_hooks",
    "setup_health_hooks",
    "setup_messaging_hooks",
]
