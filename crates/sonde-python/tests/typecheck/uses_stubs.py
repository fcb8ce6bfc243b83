"""Checked by ``mypy --strict`` (not run): every module's API as a user
calls it, so a stub that drifts from the code, or an unannotated public
function, fails the check."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Optional

import sonde
import sonde.aggregator as agg
import sonde.collector as col
import sonde.specs as specs
import sonde.telemetry as tel
from sonde.collector.collector import setup_health_hooks
from sonde.collector.exporter import JSONExporter, MultiExporter, PeriodicExporter


def aggregator() -> float:
    a = agg.MetricAggregator()
    a.increment("x", 2.0, labels={"k": "v"})
    a.set_gauge("g", 1.0)
    a.observe("h", 0.1)
    snapshot: dict[str, Any] = a.get_snapshot()
    bucket: Optional[agg.HistogramBucket] = a.get_histogram("h")
    mean: float = bucket.mean if bucket else 0.0
    counts: list[int] = agg.HistogramBucket([1.0, 2.0]).counts
    c: sonde.Counter = agg.create_counter("c", "C", ("a",))
    c.labels("x").inc()
    h: sonde.Histogram = agg.create_histogram("h", "H", buckets=(0.1, 1.0))
    h.observe(0.3)
    with h.time(), c.labels("y").count_exceptions(KeyError), agg.create_gauge("g").track_inprogress():
        pass
    exporter = agg.PrometheusExporter(port=0)
    exporter.start()
    port: int = exporter.port
    client = agg.StatsDClient(prefix="app")
    client.incr("n")
    with client.timer("t"):
        pass
    ms: float = client.timer("t").start().stop()
    return a.counter_rate("x") + mean + len(counts) + port + ms + len(snapshot)


def telemetry() -> Optional[str]:
    with tel.start_span("a", attributes={"k": 1}) as span:
        span.set_attribute("x", "y")
        child: tel.Span = tel.start_span("b", parent=span)
        tel.link_span(child, span)
        child.end()

    @tel.traced("work", {"k": "v"})
    def work(n: int) -> int:
        return n

    @tel.traced
    async def later(n: int) -> int:
        return n

    total: int = work(1) + asyncio.run(later(2))
    headers: dict[str, str] = {}
    tel.inject(headers)
    parent: Optional[tel.SpanContext] = tel.extract(headers)
    tel.create_counter("c").add(1, {"a": "b"})
    tel.record_metric("m", 1.0, {"a": "b"})
    port: int = tel.start_dashboard_server(0)
    tel.register_view("m", "line")
    tel.update_display()
    current = tel.get_current_span()
    return f"{total}{port}{parent}" if current is None else current.name


async def collector(path: Path) -> dict[str, Any]:
    c = col.TelemetryCollector(collection_interval=1.0)
    counter: sonde.Counter = c.register_counter("r_total", "R")
    counter.increment(5.0)
    gauge: sonde.Gauge = c.register_gauge("g", "G")
    gauge.increment(1)
    c.register_histogram("h", "H", buckets=[0.1]).observe(0.05)
    c.record_event("e", {"k": "v"}, labels={"s": "w"}, metadata={"m": 1})
    c.add_hook("event", lambda event: None)
    setup_health_hooks(c)
    await c.start_collection()
    ok: bool = await MultiExporter([col.PrometheusAdapter(path), JSONExporter(path.with_suffix(".json"))]).export_metrics(c)
    periodic = PeriodicExporter(col.PrometheusAdapter(path), c, interval=5.0)
    await periodic.start()
    await periodic.stop()
    await c.stop_collection()
    snapshot = c.get_snapshot()
    snapshot["ok"] = ok
    return snapshot


def spec_registry(path: Path) -> Path:
    specs.METRICS.declare(specs.MetricSpec("n_total", "counter", "1", "N"))
    specs.get_counter("n_total").inc()
    h: sonde.Histogram = specs.get_histogram("n_total", buckets=[1.0])
    snapshot: dict[str, Any] = dict(specs.snapshot_all())
    buckets: tuple[float, ...] = specs.DEFAULT_HISTOGRAM_BUCKETS_MS
    h.observe(buckets[0] + len(snapshot))
    try:
        specs.get_gauge("n_total")
    except specs.InputError as e:
        print(e.details)
    return specs.export_prometheus_textfile(specs.metrics_path(path))
