"""Spec 003 (utilityfog_frontend.telemetry) as sonde.collector."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from conftest import OtlpReceiver, run_python, wait_until

from sonde.collector import PrometheusAdapter, TelemetryCollector
from sonde.collector.collector import (
    HOOK_TYPES,
    setup_coordination_hooks,
    setup_health_hooks,
    setup_messaging_hooks,
)
from sonde.collector.exporter import JSONExporter, MetricsExporter, MultiExporter, PeriodicExporter


def test_the_documented_usage_runs(tmp_path: Path) -> None:
    async def main() -> TelemetryCollector:
        # Basic Setup
        collector = TelemetryCollector(collection_interval=30.0)
        counter = collector.register_counter("requests_total", "Total HTTP requests")
        gauge = collector.register_gauge("active_connections", "Active connections")
        histogram = collector.register_histogram("request_duration_seconds", "Request duration")
        await collector.start_collection()
        # Recording Metrics
        counter.increment()
        counter.increment(5.0)
        gauge.set(42)
        gauge.increment(1)
        gauge.decrement(2)
        histogram.observe(0.123)
        histogram.observe(0.456)
        # Event Recording
        collector.record_event("user_login", {"user_id": "12345", "timestamp": time.time()}, labels={"source": "web"})
        collector.record_event("error_occurred", {"error_type": "connection_timeout", "details": "Failed to connect to database"})
        # Exporting Metrics
        prometheus_exporter = PrometheusAdapter(str(tmp_path / "metrics.prom"))
        await prometheus_exporter.export_metrics(collector)
        json_exporter = JSONExporter(str(tmp_path / "metrics.json"))
        await json_exporter.export_metrics(collector)
        # Custom Buckets
        collector.register_histogram(
            "api_response_time",
            "API response time distribution",
            buckets=[0.001, 0.01, 0.1, 0.5, 1.0, 5.0],
        ).observe(0.05)
        await collector.stop_collection()
        return collector

    collector = asyncio.run(main())
    assert collector.get_metric("requests_total").value() == 6  # type: ignore[union-attr]
    assert collector.get_metric("active_connections").value() == 41  # type: ignore[union-attr]
    assert collector.get_metric("nope") is None
    assert (tmp_path / "metrics.prom").read_text().count("# TYPE") >= 3
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["metrics"]["requests_total"]["value"] == 6
    assert data["events_count"] == 2


def test_the_snapshot_has_the_documented_json_shape() -> None:
    collector = TelemetryCollector()
    collector.register_counter("http_requests_total", "Total HTTP requests").increment(1027)
    collector.register_gauge("memory_usage_bytes", "Memory usage in bytes", labels={"host": "a"}).set(1048576)
    collector.register_histogram("latency_seconds", "Latency", buckets=[0.1, 1.0]).observe(0.5)
    for _ in range(3):
        collector.record_event("tick", {"n": 1})
    snapshot = collector.get_snapshot()
    assert set(snapshot) == {"timestamp", "metrics", "events_count", "running"}
    assert snapshot["events_count"] == 3 and snapshot["running"] is False
    requests = snapshot["metrics"]["http_requests_total"]
    assert requests["value"] == 1027 and requests["labels"] == {}
    assert requests["timestamp"] == snapshot["timestamp"]
    assert snapshot["metrics"]["memory_usage_bytes"]["labels"] == {"host": "a"}
    latency = snapshot["metrics"]["latency_seconds"]["value"]
    assert latency == {"count": 1, "sum": 0.5, "buckets": {"0.1": 0, "1.0": 1, "+Inf": 1}}
    json.dumps(snapshot)


def test_prometheus_export_is_valid_for_promtool_and_prometheus_client(
    tmp_path: Path, promtool: Callable[..., None], parse_exposition: Callable[[str], dict[str, Any]]
) -> None:
    collector = TelemetryCollector()
    collector.register_counter("http_requests_total", "Total HTTP requests", labels={"method": "GET"}).increment(1027)
    collector.register_gauge("memory_usage_bytes", "Memory usage in bytes").set(1048576)
    collector.register_histogram("request_duration_seconds", "HTTP request duration", buckets=[0.1, 0.5, 1.0, 2.5, 5.0, 10.0]).observe(0.234)
    collector.collect()
    path = tmp_path / "out" / "metrics.prom"
    assert asyncio.run(PrometheusAdapter(path).export_metrics(collector))
    text = path.read_text()
    # The document names the metric count `telemetry_metrics_count`, which
    # promtool's naming lint reserves for histograms and summaries.
    promtool(text, allowed=("telemetry_metrics_count non-histogram",))
    families = parse_exposition(text)
    assert families["http_requests"]["samples"][("http_requests_total", ("method", "GET"))] == 1027
    assert families["memory_usage_bytes"]["samples"][("memory_usage_bytes",)] == 1048576
    assert families["request_duration_seconds"]["samples"][("request_duration_seconds_bucket", ("le", "0.5"))] == 1
    assert families["telemetry_collection_runs"]["samples"][("telemetry_collection_runs_total",)] == 1
    assert families["telemetry_metrics_count"]["samples"][("telemetry_metrics_count",)] == 3
    assert "# HELP http_requests_total Total HTTP requests" in text


def test_collection_runs_periodically_and_stops() -> None:
    runs: list[dict[str, Any]] = []

    async def main() -> TelemetryCollector:
        collector = TelemetryCollector(collection_interval=0.02)
        collector.add_hook("collection", runs.append)
        await collector.start_collection()
        await collector.start_collection()  # a second start does nothing
        assert collector.running and collector.get_snapshot()["running"]
        deadline = time.monotonic() + 20
        while len(runs) < 3:
            assert time.monotonic() < deadline, "collection did not run three times"
            await asyncio.sleep(0.01)
        await collector.stop_collection()
        return collector

    collector = asyncio.run(main())
    done = len(runs)
    assert not collector.running
    assert collector.collection_runs.value() == done
    assert collector.collection_duration.value() >= 0
    assert all(set(r) == {"timestamp", "metrics", "events_count", "running"} for r in runs)


def test_hooks_get_events_and_registrations_and_a_failing_hook_is_contained() -> None:
    collector = TelemetryCollector()
    events: list[dict[str, Any]] = []
    registered: list[str] = []
    collector.add_hook("event", events.append)
    collector.add_hook("event", lambda e: 1 / 0)
    collector.add_hook("metric_registered", lambda name, metric: registered.append(name))
    with pytest.raises(ValueError):
        collector.add_hook("no_such_hook", print)
    collector.register_counter("c_total")
    collector.record_event("user_login", {"user_id": "1"}, labels={"source": "web"}, metadata={"ip": "10.0.0.1"})
    assert registered == ["c_total"]
    assert events[0]["name"] == "user_login" and events[0]["labels"] == {"source": "web"}
    assert events[0]["metadata"] == {"ip": "10.0.0.1"}
    recent = collector.events.recent(10)[-1]
    assert recent["name"] == "user_login"
    assert "HOOK_TYPES" and set(HOOK_TYPES) == {"event", "collection", "metric_registered"}


def test_system_hooks_register_the_documented_metrics() -> None:
    collector = TelemetryCollector()
    setup_coordination_hooks(collector)
    setup_messaging_hooks(collector)
    setup_health_hooks(collector)
    kinds = {name: m["type"] for name, m in collector.get_snapshot()["metrics"].items()}
    assert kinds == {
        "coordination_messages_total": "counter",
        "coordination_active_nodes": "gauge",
        "coordination_message_latency_seconds": "histogram",
        "messages_sent_total": "counter",
        "messages_received_total": "counter",
        "message_queue_size": "gauge",
        "message_processing_duration_seconds": "histogram",
        "health_status": "gauge",
        "health_checks_total": "counter",
        "health_check_duration_seconds": "histogram",
    }
    # Registering again returns the same metrics; another kind is refused.
    assert setup_health_hooks(collector)["health_status"] is collector.get_metric("health_status")
    with pytest.raises(ValueError):
        collector.register_counter("health_status")
    with pytest.raises(TypeError):
        collector.register_counter("by_method_total", "Label names are not constant labels", labels=["method"])  # type: ignore[arg-type]


def test_json_and_multi_exporters(tmp_path: Path) -> None:
    collector = TelemetryCollector()
    collector.register_counter("jobs_total").increment(3)
    multi = MultiExporter([PrometheusAdapter(tmp_path / "m.prom"), JSONExporter(tmp_path / "m.json")])
    assert asyncio.run(multi.export_metrics(collector))
    assert "jobs_total 3" in (tmp_path / "m.prom").read_text()
    assert json.loads((tmp_path / "m.json").read_text())["metrics"]["jobs_total"]["value"] == 3
    (tmp_path / "blocker").write_text("a file where a directory should be")
    broken = MultiExporter([JSONExporter(tmp_path / "blocker" / "m.json"), JSONExporter(tmp_path / "ok.json")])
    assert not asyncio.run(broken.export_metrics(collector))
    assert isinstance(broken.last_error, OSError)
    assert (tmp_path / "ok.json").exists()


class Flaky(MetricsExporter):
    """Fails the first `failures` exports."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def export_metrics(self, collector: TelemetryCollector) -> bool:
        self.calls += 1
        return self.calls > self.failures


def test_periodic_export_writes_repeatedly_retries_and_flushes_at_stop(tmp_path: Path) -> None:
    path = tmp_path / "periodic.prom"

    async def main() -> tuple[PeriodicExporter, PeriodicExporter]:
        collector = TelemetryCollector()
        counter = collector.register_counter("beats_total")
        periodic = PeriodicExporter(PrometheusAdapter(path), collector, interval=0.02)
        await periodic.start()
        deadline = time.monotonic() + 20
        while periodic.exports < 3:
            assert time.monotonic() < deadline
            counter.increment()
            await asyncio.sleep(0.01)
        counter.increment(100)
        await periodic.stop()
        flaky = PeriodicExporter(Flaky(2), collector, interval=0.01, max_retries=3)
        assert await flaky.export_once()
        gives_up = PeriodicExporter(Flaky(10), collector, interval=0.01, max_retries=1)
        assert not await gives_up.export_once()
        return periodic, flaky

    periodic, flaky = asyncio.run(main())
    assert not periodic.running
    # The export at stop wrote the last increment.
    assert any(line.startswith("beats_total ") and float(line.split()[1]) >= 100 for line in path.read_text().splitlines())
    assert flaky.retries == 2 and flaky.exports == 1
    assert "telemetry_exports_total" in periodic.collector.prometheus_text()


def test_metrics_are_thread_safe() -> None:
    collector = TelemetryCollector()
    counter = collector.register_counter("ops_total")

    def work() -> None:
        for _ in range(25_000):
            counter.increment()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.value() == 100_000


def test_events_reach_an_otlp_receiver_as_log_records(otlp_receiver: OtlpReceiver) -> None:
    code = (
        "from sonde.collector import TelemetryCollector\n"
        "c = TelemetryCollector()\n"
        "c.record_event('user_login', {'user_id': '12345'}, labels={'source': 'web'}, metadata={'ip': '10.0.0.1'})\n"
        "c.events.flush(5.0)\n"
    )
    run_python(code, {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint})

    record = otlp_receiver.wait_for("logs")[0]
    text = json.dumps(record)
    for expected in ("user_login", "12345", "web", "metadata.ip", "10.0.0.1"):
        assert expected in text
