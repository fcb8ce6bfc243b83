"""Spec 002 (codomyrmex.telemetry) as sonde.telemetry."""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import urllib.request
from typing import Any, Callable, Optional

import pytest
from conftest import OtlpReceiver, run_python, wait_until

import sonde.telemetry as telemetry
from sonde.telemetry import (
    Span,
    create_counter,
    create_gauge,
    create_histogram,
    extract,
    get_current_span,
    inject,
    link_span,
    record_metric,
    register_view,
    start_dashboard_server,
    start_span,
    traced,
    update_display,
)


def test_the_documented_import_works() -> None:
    import sonde.telemetry  # the document's `import codomyrmex.telemetry`

    for name in ("start_span", "traced", "link_span", "get_current_span", "create_counter", "create_gauge",
                 "create_histogram", "record_metric", "start_dashboard_server", "register_view", "update_display"):
        assert callable(getattr(sonde.telemetry, name))


def test_a_span_is_current_inside_its_block_and_parents_new_spans() -> None:
    assert get_current_span() is None
    with start_span("outer") as outer:
        assert get_current_span() is outer
        inner = start_span("inner")
        assert inner.parent_span_id == outer.span_id and inner.trace_id == outer.trace_id
        with inner:
            assert get_current_span() is inner
        assert get_current_span() is outer
        explicit_root = start_span("other", parent=None)
        assert explicit_root.parent_span_id == outer.span_id  # None means "the current span"
    assert get_current_span() is None
    root = start_span("root")
    assert root.parent_span_id is None
    child = start_span("child", parent=root)
    assert child.parent_span_id == root.span_id
    assert len(root.trace_id) == 32 and len(root.span_id) == 16


def test_a_block_that_raises_ends_the_span_with_error_and_propagates() -> None:
    with pytest.raises(KeyError):
        with start_span("failing") as span:
            raise KeyError("missing")
    assert not span.is_recording()
    assert get_current_span() is None


def test_traced_sync_and_async_functions_run_in_child_spans() -> None:
    seen: dict[str, Optional[Span]] = {}

    @traced("sync.work", {"component": "test"})
    def work() -> int:
        seen["sync"] = get_current_span()
        return 7

    @traced("async.work", {"component": "test"})
    async def async_work() -> int:
        seen["async"] = get_current_span()
        await asyncio.sleep(0)
        return 8

    @traced
    def bare() -> str:
        span = get_current_span()
        return span.name if span else ""

    with start_span("request") as request:
        assert work() == 7
        assert asyncio.run(async_work()) == 8
        assert bare().endswith("bare")
    sync_span, async_span = seen["sync"], seen["async"]
    assert sync_span is not None and sync_span.name == "sync.work"
    assert sync_span.parent_span_id == request.span_id
    assert async_span is not None and async_span.name == "async.work"
    assert async_span.parent_span_id == request.span_id
    assert work.__name__ == "work"


def test_traced_raises_through_and_marks_error() -> None:
    @traced("boom")
    def boom() -> None:
        raise RuntimeError("broken")

    @traced("async.boom")
    async def async_boom() -> None:
        raise ValueError("broken too")

    with pytest.raises(RuntimeError):
        boom()
    with pytest.raises(ValueError):
        asyncio.run(async_boom())
    assert get_current_span() is None


def test_each_thread_has_its_own_current_span_and_a_copied_context_keeps_the_parent() -> None:
    found: dict[str, Any] = {}

    def in_thread(key: str) -> None:
        current = get_current_span()
        found[key] = current
        with start_span(f"{key}.child") as child:
            found[f"{key}.child"] = child

    with start_span("main") as main:
        plain = threading.Thread(target=in_thread, args=("plain",))
        context = contextvars.copy_context()
        copied = threading.Thread(target=context.run, args=(in_thread, "copied"))
        plain.start()
        copied.start()
        plain.join()
        copied.join()
    assert found["plain"] is None
    assert found["plain.child"].parent_span_id is None
    assert found["copied"] is main
    assert found["copied.child"].parent_span_id == main.span_id


def test_asyncio_tasks_inherit_the_current_span_and_keep_their_own() -> None:
    async def task(name: str) -> tuple[Optional[str], str, Optional[str]]:
        parent = get_current_span()
        with start_span(name) as span:
            await asyncio.sleep(0.01)
            current = get_current_span()
            assert current is span
            return (parent.span_id if parent else None, span.span_id, span.parent_span_id)

    async def main() -> tuple[str, list[tuple[Optional[str], str, Optional[str]]]]:
        with start_span("batch") as batch:
            results = await asyncio.gather(task("a"), task("b"), asyncio.to_thread(lambda: asyncio.run(task("c"))))
            return batch.span_id, list(results)

    batch_id, results = asyncio.run(main())
    for parent_seen, _, parent_id in results:
        assert parent_seen == batch_id and parent_id == batch_id
    assert len({span_id for _, span_id, _ in results}) == 3


def test_link_span_and_trace_context_headers() -> None:
    a = start_span("a")
    b = start_span("b")
    link_span(b, a)
    headers: dict[str, str] = {}
    with start_span("outgoing") as out:
        inject(headers)
    # Sampled, and (W3C Trace Context Level 2) random trace ids.
    assert headers["traceparent"] == f"00-{out.trace_id}-{out.span_id}-03"
    remote = extract({"Traceparent": headers["traceparent"]})
    assert remote is not None and remote.remote and remote.span_id == out.span_id
    server = start_span("server", parent=remote)
    assert server.trace_id == out.trace_id and server.parent_span_id == out.span_id
    assert extract({"traceparent": "00-zz-00-01"}) is None
    assert extract({}) is None
    for s in (a, b, server):
        s.end()


def test_metrics_label_by_their_first_attributes(parse_exposition: Callable[[str], dict[str, Any]]) -> None:
    calls = create_counter("tel_calls", "Calls made.")
    assert create_counter("tel_calls") is calls
    calls.add(1, {"route": "/a", "code": 200})
    calls.add(2, {"code": 200, "route": "/a"})
    with pytest.raises(ValueError):
        calls.add(1, {"route": "/a"})
    depth = create_gauge("tel_depth")
    depth.set(3)
    sizes = create_histogram("tel_sizes", "Sizes.", buckets=[10, 100])
    sizes.record(50, {"kind": "x"})
    record_metric("tel_calls", 4, {"route": "/b", "code": 500})
    record_metric("tel_depth", 9)
    record_metric("tel_sizes", 500, {"kind": "x"})
    record_metric("tel_temperature", 21.5, {"room": "lab"})
    with pytest.raises(ValueError):
        create_histogram("tel_depth")
    families = parse_exposition(telemetry.REGISTRY.prometheus_text())
    assert families["tel_calls"]["samples"][("tel_calls_total", ("code", "200"), ("route", "/a"))] == 3
    assert families["tel_calls"]["samples"][("tel_calls_total", ("code", "500"), ("route", "/b"))] == 4
    assert families["tel_depth"]["samples"][("tel_depth",)] == 9
    assert families["tel_sizes"]["samples"][("tel_sizes_count", ("kind", "x"))] == 2
    assert families["tel_sizes"]["samples"][("tel_sizes_bucket", ("kind", "x"), ("le", "100"))] == 1
    assert families["tel_temperature"]["samples"][("tel_temperature", ("room", "lab"))] == 21.5


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def test_the_dashboard_serves_metrics_views_and_events() -> None:
    create_counter("tel_dashboard_hits").add(5)
    port = start_dashboard_server(0)
    assert start_dashboard_server(0) == port
    register_view("tel_dashboard_hits", "single_stat")
    with pytest.raises(ValueError):
        register_view("tel_dashboard_hits", "pie")
    telemetry.record_event("deploy", {"version": "1.2"}, {"env": "test"})
    update_display()
    base = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(base + "/", timeout=10) as r:
        assert b"<html" in r.read().lower()
    snapshot = json.dumps(get_json(base + "/api/snapshot"))
    assert "tel_dashboard_hits" in snapshot
    views = json.dumps(get_json(base + "/api/views"))
    assert "tel_dashboard_hits" in views and "single_stat" in views
    events = json.dumps(get_json(base + "/api/events"))
    assert "deploy" in events
    with start_span("dashboard.request") as request:
        with start_span("dashboard.query"):
            pass
    traces = get_json(base + "/api/traces")["traces"]
    listed = [t for t in traces if t["trace_id"] == request.trace_id]
    assert listed and listed[0]["name"] == "dashboard.request" and listed[0]["spans"] == 2
    spans = get_json(f"{base}/api/traces/{request.trace_id}")["spans"]
    by_name = {s["span"]["name"]: s["span"] for s in spans}
    assert by_name["dashboard.query"]["parentSpanId"] == request.span_id
    telemetry.stop_dashboard_server()


OTLP_SCENARIO = r'''
import asyncio, contextvars, threading
import sonde.telemetry as t

@t.traced("handler", {"http.route": "/orders", "retries": 2})
def handler():
    t.record_event("order.created", {"order_id": "o-1"})
    return "ok"

@t.traced("async.step")
async def step(i):
    await asyncio.sleep(0.001)
    return i

@t.traced("failing")
def failing():
    raise RuntimeError("database down")

@t.traced("async.failing")
async def async_failing():
    await asyncio.sleep(0)
    raise ValueError("bad input")

with t.start_span("background") as background:
    pass
with t.start_span("request", attributes={"user": "u1"}) as request:
    t.link_span(request, background)
    handler()
    ctx = contextvars.copy_context()
    th = threading.Thread(target=ctx.run, args=(handler,))
    th.start(); th.join()
    async def fan_out():
        return await asyncio.gather(step(1), step(2))
    asyncio.run(fan_out())
    try:
        failing()
    except RuntimeError:
        pass
    try:
        asyncio.run(async_failing())
    except ValueError:
        pass
t.create_counter("scenario_jobs").add(3, {"queue": "q"})
print(request.trace_id, request.span_id, background.trace_id, background.span_id)
'''


def attributes(node: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for a in node.get("attributes", []):
        value = a["value"]
        out[a["key"]] = next(iter(value.values())) if value else None
    return out


def test_spans_events_and_metrics_reach_an_otlp_receiver(otlp_receiver: OtlpReceiver) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": "scenario",
        "OTEL_METRIC_EXPORT_INTERVAL": "60000",
    }
    trace_id, request_id, background_trace, background_id = run_python(OTLP_SCENARIO, env).split()

    got = otlp_receiver.wait_for("traces", 8)
    background = [s for s in got if s["name"] == "background"]
    assert background[0]["traceId"] == background_trace != trace_id
    got = [s for s in got if s["name"] != "background"]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for s in got:
        by_name.setdefault(s["name"], []).append(s)
    assert all(s["traceId"] == trace_id for s in got)
    assert by_name["request"][0]["spanId"] == request_id
    links = by_name["request"][0]["links"]
    assert [(link["traceId"], link["spanId"]) for link in links] == [(background_trace, background_id)]
    assert len(by_name["handler"]) == 2 and len(by_name["async.step"]) == 2
    for s in by_name["handler"] + by_name["async.step"] + by_name["failing"] + by_name["async.failing"]:
        assert s["parentSpanId"] == request_id
    assert attributes(by_name["handler"][0]) == {"http.route": "/orders", "retries": "2"}
    failing = by_name["failing"][0]
    assert failing["status"]["code"] == "STATUS_CODE_ERROR"
    assert "database down" in failing["status"]["message"]
    assert any(e["name"] == "exception" for e in failing["events"])
    async_failing = by_name["async.failing"][0]
    assert async_failing["status"]["code"] == "STATUS_CODE_ERROR" and "bad input" in async_failing["status"]["message"]
    resource = attributes(otlp_receiver.received("traces")[0]["resourceSpans"][0]["resource"])
    assert resource["service.name"] == "scenario"

    logged = otlp_receiver.wait_for("logs", 2)
    handler_ids = {s["spanId"] for s in by_name["handler"]}
    assert {r["spanId"] for r in logged} == handler_ids
    assert all(r["traceId"] == trace_id for r in logged)

    jobs = next(m for m in otlp_receiver.wait_for("metrics") if m["name"] == "scenario_jobs")
    point = jobs["sum"]["dataPoints"][0]
    assert float(point.get("asDouble", point.get("asInt", 0))) == 3
    assert attributes(point) == {"queue": "q"}


def test_nothing_is_exported_without_an_endpoint(otlp_receiver: OtlpReceiver) -> None:
    run_python("import sonde.telemetry as t\nwith t.start_span('quiet'): pass\n", {"OTEL_SDK_DISABLED": "true"})
    run_python("import sonde.telemetry as t\nwith t.start_span('quiet'): pass\n",
               {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint, "OTEL_TRACES_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"})
    assert otlp_receiver.received() == []
