"""The classes every module shares (sonde._native): registries,
instruments, spans and event logs, beyond what each document names."""

from __future__ import annotations

import contextvars
import threading
from typing import Any, Callable

import pytest

from sonde import Counter, Registry
from sonde._native import EventLog, Tracer


def test_registry_snapshot_text_and_resets(parse_exposition: Callable[[str], dict[str, Any]]) -> None:
    r = Registry()
    c = r.counter("jobs_total", "Jobs.", labels=["queue"])
    g = r.gauge("depth", "Depth.", labels=[], const_labels={"region": "eu"})
    h = r.histogram("latency_seconds", "Latency.", labels=[], buckets=[0.1, 1.0])
    c.labels("a").inc(2)
    g.set(5)
    h.observe(0.5)
    assert sorted(r.names()) == ["depth", "jobs", "latency_seconds"]
    families = {f["name"]: f for f in r.snapshot()}
    assert families["jobs"]["kind"] == "counter"
    assert families["jobs"]["series"] == [{"labels": {"queue": "a"}, "value": 2.0}]
    assert families["depth"]["series"][0]["labels"] == {"region": "eu"}
    latency = families["latency_seconds"]["series"][0]
    assert latency["count"] == 1 and latency["counts"] == [0, 1, 1]
    assert "# EOF" in r.openmetrics_text()
    assert parse_exposition(r.prometheus_text())["jobs"]["samples"][("jobs_total", ("queue", "a"))] == 2
    assert r.counter_rate("jobs_total") is not None and r.counter_rate("missing") is None
    r.reset()
    assert c.labels("a").value() == 0 and g.value() == 5
    r.reset_all()
    assert g.value() == 0
    assert r.unregister("depth") and not r.unregister("depth")


def test_instruments_refuse_what_their_kind_cannot_take() -> None:
    r = Registry()
    with pytest.raises(ValueError):
        r.counter("bad name")
    with pytest.raises(ValueError):
        r.histogram("h", buckets=[2.0, 1.0])
    c = r.counter("c_total", labels=["a", "b"])
    with pytest.raises(ValueError):
        c.labels("x")
    with pytest.raises(ValueError):
        c.labels("x", b="y")
    with pytest.raises(ValueError):
        c.labels(a="x")
    with pytest.raises(ValueError):
        c.add(1, {"a": "x", "c": "y"})
    assert c.labels("x", "y") is c.labels("x", "y")  # handles are reused
    assert c.labels(b="y", a="x").value() == 0
    lazy = r.counter("lazy_total")
    with pytest.raises(ValueError):
        lazy.labels("x")  # no label names yet
    assert lazy.labels(k="v").label_names == ["k"]
    assert repr(c) == 'Counter("c_total")'
    assert isinstance(c, Counter) and c.kind == "counter"


def test_gauge_and_histogram_methods() -> None:
    r = Registry()
    g = r.gauge("g", labels=["k"])
    g.labels("a").set(1)
    g.labels("a").inc()
    g.labels("a").increment(2)
    g.labels("a").decrement()
    g.labels("a").dec(0.5)
    g.add(10, {"k": "a"})
    assert g.value({"k": "a"}) == 12.5
    g.labels("t").set_to_current_time()
    assert g.labels("t").value() > 1.7e9
    h = r.histogram("h", labels=["k"], buckets=[1.0])
    h.record(0.5, {"k": "a"})
    h.labels("a").observe(2)
    assert h.snapshot({"k": "a"})["count"] == 2
    h.labels("a").reset()
    assert h.labels("a").snapshot()["count"] == 0
    c = r.counter("c_total", labels=[])
    c.increment(3)
    assert c.rate() > 0


def test_spans_carry_attributes_events_status_and_links() -> None:
    tracer = Tracer("test", "test")
    span = tracer.start_span("op", None, {"flag": True, "n": 3, "ratio": 0.5, "tags": ["a", "b"], "big": 2**80}, "server")
    span.set_attribute("k", "v")
    span.set_attributes({"x": 1})
    span.add_event("checkpoint", {"step": 1})
    other = tracer.start_span("other", root=True)
    span.add_link(other.context, {"why": "retry"})
    span.set_status("ok")
    with pytest.raises(ValueError):
        span.set_status("maybe")
    with pytest.raises(ValueError):
        tracer.start_span("bad", kind="sideways")
    with pytest.raises(TypeError):
        tracer.start_span("bad", parent="not a span")  # type: ignore[arg-type]
    span.record_exception(ValueError("bad input"))
    assert span.is_recording()
    span.end()
    span.end()
    assert not span.is_recording()
    assert "op" in repr(span) and span.context.sampled
    assert other.parent_span_id is None and other.trace_id != span.trace_id
    tracer.force_flush()
    tracer.shutdown(1.0)


def test_a_span_entered_in_one_thread_can_end_in_another() -> None:
    contextvars.copy_context().run(handoff)


def handoff() -> None:
    tracer = Tracer()
    span = tracer.start_span("handoff")
    span.__enter__()
    errors: list[BaseException] = []

    def finish() -> None:
        try:
            span.__exit__(None, None, None)
        except BaseException as e:  # pragma: no cover - the failure case
            errors.append(e)

    t = threading.Thread(target=finish)
    t.start()
    t.join()
    assert errors == [] and not span.is_recording()


def test_event_log_keeps_recent_events_with_the_current_span() -> None:
    log = EventLog(None, 2)
    tracer = Tracer()
    with tracer.start_span("work") as span:
        log.record("one", {"n": 1}, {"k": "v"}, "warning")
    log.record("two")
    log.record("three", severity="error")
    with pytest.raises(ValueError):
        log.record("four", severity="loud")
    recent = log.recent(10)
    assert [e["name"] for e in recent] == ["two", "three"]
    assert log.recorded() == 3
    log.flush(1.0)
    first = EventLog().recent(1)
    assert first == []
    assert span.trace_id
