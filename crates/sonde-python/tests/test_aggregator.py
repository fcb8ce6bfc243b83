"""Spec 000 (codomyrmex.telemetry.metrics) as sonde.aggregator."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from typing import Any, Callable

import pytest
from conftest import StatsdDaemon, statsd_until, statsd_value

from sonde.aggregator import (
    REGISTRY,
    HistogramBucket,
    MetricAggregator,
    PrometheusExporter,
    StatsDClient,
    create_counter,
    create_gauge,
    create_histogram,
)


def test_the_documented_example_runs() -> None:
    agg = MetricAggregator()
    agg.increment("http_requests", labels={"method": "GET"})
    agg.observe("request_duration", 0.15)
    snapshot = agg.get_snapshot()
    assert snapshot["counters"] == {"http_requests": 1.0}
    assert snapshot["labeled_counters"] == {"http_requests": {"method=GET": 1.0}}
    assert snapshot["histograms"]["request_duration"]["count"] == 1
    assert snapshot["histograms"]["request_duration"]["buckets"]["le_0.25"] == 1
    assert abs(snapshot["timestamp"] - time.time()) < 60


def test_labels_are_kept_separately_as_sorted_k_v_strings() -> None:
    agg = MetricAggregator()
    agg.increment("jobs", 2.0, labels={"queue": "high", "host": "a"})
    agg.increment("jobs", 3.0, labels={"host": "a", "queue": "high"})
    agg.increment("jobs")
    assert agg.get_counter("jobs") == 6.0
    assert agg.get_labeled_counters("jobs") == {"host=a,queue=high": 5.0}


def test_reset_keeps_gauges_and_reset_all_clears_them() -> None:
    agg = MetricAggregator()
    agg.increment("c", 4)
    agg.set_gauge("g", 7.5)
    agg.observe("h", 1.0)
    agg.reset()
    snapshot = agg.get_snapshot()
    assert snapshot["counters"] == {} and snapshot["histograms"] == {}
    assert snapshot["gauges"] == {"g": 7.5}
    assert agg.counter_rate("c") == 0.0
    agg.reset_all()
    assert agg.get_snapshot()["gauges"] == {}
    assert agg.metric_names == []


def test_counter_rate_is_per_second_since_the_first_increment() -> None:
    agg = MetricAggregator()
    assert agg.counter_rate("never") == 0.0
    before = time.monotonic()
    agg.increment("ticks", 10)
    rate = agg.counter_rate("ticks")
    elapsed = time.monotonic() - before
    # The time since the first increment is at most `elapsed`.
    assert rate >= 10 / elapsed * 0.99


def test_histogram_bucket_has_the_default_boundaries_and_an_overflow_slot() -> None:
    h = HistogramBucket()
    assert h.boundaries == [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
    assert len(h.counts) == len(h.boundaries) + 1
    for v in (0.005, 0.006, 10.0, 11.0, 1e9):
        h.observe(v)
    assert h.counts[0] == 1 and h.counts[1] == 1 and h.counts[10] == 1 and h.counts[-1] == 2
    assert h.total_count == 5
    assert h.mean == pytest.approx((0.005 + 0.006 + 10.0 + 11.0 + 1e9) / 5)
    d = h.to_dict()
    assert list(d["buckets"])[:2] == ["le_0.005", "le_0.01"]
    assert d["buckets"]["le_10.0"] == 1 and d["buckets"]["le_inf"] == 2
    assert d["count"] == 5 and d["sum"] == pytest.approx(h.total_sum)
    assert HistogramBucket().mean == 0.0


def test_histogram_bucket_with_custom_boundaries() -> None:
    h = HistogramBucket([1, 2, 5])
    h.observe(1.5)
    h.observe(7)
    assert h.counts == [0, 1, 0, 1]
    assert h.to_dict()["buckets"] == {"le_1": 0, "le_2": 1, "le_5": 0, "le_inf": 1}
    with pytest.raises(ValueError):
        HistogramBucket([2, 1])


def test_the_aggregator_is_thread_safe() -> None:
    agg = MetricAggregator()

    def work() -> None:
        for _ in range(20_000):
            agg.increment("hits", labels={"t": "x"})
            agg.observe("lat", 0.01)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert agg.get_counter("hits") == 80_000
    assert agg.get_labeled_counters("hits") == {"t=x": 80_000}
    histogram = agg.get_histogram("lat")
    assert histogram is not None and histogram.total_count == 80_000


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return str(r.read().decode())


def test_prometheus_exporter_start_is_idempotent_and_serves_the_factories_metrics(
    promtool: Callable[..., None], parse_exposition: Callable[[str], dict[str, Any]]
) -> None:
    requests = create_counter("agg_requests", "Requests served.", ("method", "code"))
    depth = create_gauge("agg_queue_depth", "Jobs waiting.")
    latency = create_histogram("agg_latency_seconds", "Latency.", buckets=(0.1, 0.5, 1.0))
    requests.labels("GET", "200").inc()
    requests.labels(method="POST", code="500").inc(2)
    depth.set(7)
    depth.inc(3)
    depth.dec()
    latency.observe(0.3)
    latency.observe(2.0)
    exporter = PrometheusExporter(port=0)
    exporter.start()
    port = exporter.port
    exporter.start()
    assert exporter.port == port
    try:
        text = scrape(port)
        promtool(text)
        families = parse_exposition(text)
        assert families["agg_requests"]["samples"][("agg_requests_total", ("code", "200"), ("method", "GET"))] == 1
        assert families["agg_requests"]["samples"][("agg_requests_total", ("code", "500"), ("method", "POST"))] == 2
        assert families["agg_queue_depth"]["samples"][("agg_queue_depth",)] == 9
        samples = families["agg_latency_seconds"]["samples"]
        assert samples[("agg_latency_seconds_bucket", ("le", "0.5"))] == 1
        assert samples[("agg_latency_seconds_bucket", ("le", "+Inf"))] == 2
        assert samples[("agg_latency_seconds_count",)] == 2
    finally:
        exporter.stop()
        for name in ("agg_requests", "agg_queue_depth", "agg_latency_seconds"):
            REGISTRY.unregister(name)


def test_the_factories_metrics_have_prometheus_clients_context_managers() -> None:
    latency = create_histogram("agg_timed_seconds", "Timed.", buckets=(0.5, 60.0))
    busy = create_gauge("agg_busy", "Busy.")
    last = create_gauge("agg_last_seconds", "Last duration.")
    failures = create_counter("agg_failures", "Failures.")
    try:
        with latency.time():
            pass

        @latency.time()
        @busy.track_inprogress()
        def work() -> float:
            return busy.value()

        assert work() == 1 and work() == 1
        assert busy.value() == 0
        with last.time():
            pass
        assert 0 <= last.value() < 60
        with pytest.raises(KeyError):
            with failures.count_exceptions():
                raise KeyError("x")
        with pytest.raises(ValueError):
            with failures.count_exceptions(KeyError):
                raise ValueError("not counted")

        @failures.count_exceptions((ValueError, KeyError))
        def fails() -> None:
            raise ValueError("counted")

        with pytest.raises(ValueError):
            fails()
        with failures.count_exceptions():
            pass
        assert failures.value() == 2
        assert latency.snapshot()["count"] == 3
    finally:
        for name in ("agg_timed_seconds", "agg_busy", "agg_last_seconds", "agg_failures"):
            REGISTRY.unregister(name)


def test_a_second_exporter_on_a_taken_port_raises() -> None:
    first = PrometheusExporter(port=0)
    first.start()
    try:
        with pytest.raises(OSError):
            PrometheusExporter(port=first.port).start()
    finally:
        first.stop()


def test_factories_check_their_input() -> None:
    c = create_counter("agg_checked", "Checked.", ("a",))
    try:
        with pytest.raises(ValueError):
            c.inc()  # labels first, as prometheus_client
        with pytest.raises(ValueError):
            c.labels("x").inc(-1)
        with pytest.raises(ValueError):
            c.labels("x", "y")
        with pytest.raises(ValueError):
            create_gauge("agg_checked", "Now a gauge.")
    finally:
        REGISTRY.unregister("agg_checked")


def test_statsd_client_lines_reach_the_statsd_daemon(statsd_daemon: StatsdDaemon) -> None:
    client = StatsDClient("127.0.0.1", statsd_daemon.udp)
    assert client.prefix == "codomyrmex"
    client.incr("jobs")
    client.incr("jobs", 4)
    client.gauge("depth", 12)
    client.timing("query", 42.5)
    with client.timer("block"):
        pass

    @client.timer("decorated")
    def work(x: int) -> int:
        return x * 2

    assert work(21) == 42
    timer = client.timer("manual").start()
    assert timer.stop() >= 0
    assert client.flush(5.0)

    statsd_until(statsd_daemon, "counters", lambda d: statsd_value(d, "codomyrmex.jobs") == 5)
    statsd_until(statsd_daemon, "gauges", lambda d: statsd_value(d, "codomyrmex.depth") == 12)
    timers = statsd_until(statsd_daemon, "timers", lambda d: "'codomyrmex.manual'" in d)
    for name in ("query", "block", "decorated", "manual"):
        assert f"'codomyrmex.{name}'" in timers
    assert "42.5" in timers


def test_statsd_client_defaults_come_from_the_environment(
    statsd_daemon: StatsdDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSD_HOST", "127.0.0.1")
    monkeypatch.setenv("STATSD_PORT", str(statsd_daemon.udp))
    client = StatsDClient(prefix="env")
    assert (client.host, client.port) == ("127.0.0.1", statsd_daemon.udp)
    client.incr("hits", 3)
    client.flush(5.0)
    statsd_until(statsd_daemon, "counters", lambda d: statsd_value(d, "env.hits") == 3)
    monkeypatch.delenv("STATSD_HOST")
    monkeypatch.delenv("STATSD_PORT")
    default = StatsDClient()
    assert (default.host, default.port) == ("localhost", 8125)


def test_statsd_client_refuses_a_host_that_does_not_resolve() -> None:
    with pytest.raises(OSError):
        StatsDClient("no-such-host.invalid", 8125)


def test_statsd_lines_from_many_threads_all_arrive(statsd_daemon: StatsdDaemon) -> None:
    client = StatsDClient("127.0.0.1", statsd_daemon.udp, prefix="mt")

    def work() -> None:
        for _ in range(2_000):
            client.incr("n")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.flush(5.0)
    assert client.stats()["dropped"] == 0
    statsd_until(statsd_daemon, "counters", lambda d: statsd_value(d, "mt.n") == 8000)


def test_unused_udp_port_is_not_an_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = StatsDClient("127.0.0.1", port)
    client.incr("nobody.listens")
    client.flush(1.0)
