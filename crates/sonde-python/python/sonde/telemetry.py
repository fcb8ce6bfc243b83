"""Spec 002 (``codomyrmex.telemetry``) on Sonde's core.

Spans (:func:`start_span`, :func:`traced`, :func:`link_span`,
:func:`get_current_span`), metrics (:func:`create_counter`,
:func:`create_gauge`, :func:`create_histogram`, :func:`record_metric`) and
the dashboard (:func:`start_dashboard_server`, :func:`register_view`,
:func:`update_display`).

The current span is kept in a :mod:`contextvars` variable: each thread has
its own, and each asyncio task starts with its creator's, so a span started
in a task is the child of the span current where the task was created. A
span used as a context manager is current inside the block and ends at its
exit (status ERROR, with an ``exception`` event, when the block raises).

Export follows the standard ``OTEL_*`` variables: with
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or a per-signal endpoint) set, spans,
events (as log records) and metrics go over OTLP (``OTEL_EXPORTER_OTLP_PROTOCOL``
``http/protobuf``, ``http/json`` or ``grpc``), spans and events in batches
from a background thread, metrics every ``OTEL_METRIC_EXPORT_INTERVAL``
ms; ``OTEL_{TRACES,LOGS,METRICS}_EXPORTER=none`` or ``OTEL_SDK_DISABLED=true``
turn a signal off. :func:`shutdown` (run at exit) flushes them.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import os
import threading
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any, Optional, TypeVar, Union, overload

from sonde._native import (
    Counter,
    DashboardServer,
    EventLog,
    Gauge,
    Histogram,
    OtlpMetricExport,
    Registry,
    Span,
    SpanContext,
    Tracer,
    current_span,
)

__all__ = [
    "EVENTS",
    "REGISTRY",
    "Span",
    "SpanContext",
    "create_counter",
    "create_gauge",
    "create_histogram",
    "extract",
    "force_flush",
    "get_current_span",
    "inject",
    "link_span",
    "record_event",
    "record_metric",
    "register_view",
    "shutdown",
    "start_dashboard_server",
    "start_span",
    "traced",
    "update_display",
]

F = TypeVar("F", bound=Callable[..., Any])
Instrument = Union[Counter, Gauge, Histogram]

_SERVICE = os.environ.get("OTEL_SERVICE_NAME") or None

#: The metrics of this module's instruments.
REGISTRY = Registry()
#: Events recorded with :func:`record_event` (shown by the dashboard).
EVENTS = EventLog(_SERVICE)

_tracer = Tracer(_SERVICE, "sonde.telemetry")
_metric_export = OtlpMetricExport(REGISTRY, _SERVICE)
_instruments: dict[str, Instrument] = {}
_lock = threading.Lock()
_dashboard: Optional[DashboardServer] = None


def start_span(
    name: str,
    parent: Optional[Union[Span, SpanContext]] = None,
    *,
    attributes: Optional[Mapping[str, Any]] = None,
    kind: Optional[str] = None,
) -> Span:
    """Starts a span: a child of ``parent`` (a span, or a context from
    :func:`extract`), else of the current span, else a new trace's root.
    End it with ``end()``, or use it as a context manager."""
    return _tracer.start_span(name, parent, dict(attributes) if attributes else None, kind)


def get_current_span() -> Optional[Span]:
    """The span current in this thread or asyncio task, or None."""
    return current_span()


def link_span(span: Span, target: Union[Span, SpanContext]) -> None:
    """Links ``span`` to ``target`` (a related span of another trace, say)."""
    span.add_link(target)


@overload
def traced(name: F) -> F: ...


@overload
def traced(name: Optional[str] = None, attributes: Optional[Mapping[str, Any]] = None) -> Callable[[F], F]: ...


def traced(name: Any = None, attributes: Optional[Mapping[str, Any]] = None) -> Any:
    """A decorator running each call of a function (or ``async def``
    coroutine) in a span named ``name`` (default: the function's qualified
    name) with ``attributes``; the span is current during the call, and an
    exception sets its status to ERROR and propagates. ``@traced`` without
    arguments works too."""
    if callable(name):
        return traced()(name)

    def decorate(fn: F) -> F:
        span_name = name or fn.__qualname__
        attrs = dict(attributes) if attributes else None
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def traced_async(*args: Any, **kwargs: Any) -> Any:
                with _tracer.start_span(span_name, None, attrs):
                    return await fn(*args, **kwargs)

            return traced_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def traced_sync(*args: Any, **kwargs: Any) -> Any:
            with _tracer.start_span(span_name, None, attrs):
                return fn(*args, **kwargs)

        return traced_sync  # type: ignore[return-value]

    return decorate


def inject(carrier: MutableMapping[str, str], span: Optional[Span] = None) -> None:
    """Writes the W3C ``traceparent`` header of ``span`` (default: the
    current span) into ``carrier``; does nothing without a span."""
    span = span if span is not None else current_span()
    if span is not None:
        carrier["traceparent"] = span.context.traceparent()


def extract(carrier: Mapping[str, str]) -> Optional[SpanContext]:
    """The span context of a W3C ``traceparent`` header in ``carrier``
    (None when absent or malformed), to pass as ``parent``."""
    for key, value in carrier.items():
        if key.lower() == "traceparent":
            return SpanContext.from_traceparent(value)
    return None


def _instrument(name: str, make: Callable[[], Instrument]) -> Instrument:
    with _lock:
        found = _instruments.get(name)
        if found is None:
            found = _instruments[name] = make()
        return found


def _of_kind(name: str, found: Instrument, kind: type) -> Any:
    if not isinstance(found, kind):
        raise ValueError(f"{name} is a {found.kind}, not a {kind.__name__.lower()}")
    return found


def create_counter(name: str, description: str = "") -> Counter:
    """A counter (``add(amount, attributes)``, ``inc()``); the same one for
    the same name. Its label names are those of the first attributes it is
    recorded with; later attributes must have the same names."""
    return _of_kind(name, _instrument(name, lambda: REGISTRY.counter(name, description)), Counter)  # type: ignore[no-any-return]


def create_gauge(name: str, description: str = "") -> Gauge:
    """A gauge (``set(value, attributes)``, ``add``, ``inc``, ``dec``)."""
    return _of_kind(name, _instrument(name, lambda: REGISTRY.gauge(name, description)), Gauge)  # type: ignore[no-any-return]


def create_histogram(name: str, description: str = "", buckets: Optional[Sequence[float]] = None) -> Histogram:
    """A histogram (``record(value, attributes)``, ``observe``)."""
    bounds = list(buckets) if buckets else None
    return _of_kind(  # type: ignore[no-any-return]
        name, _instrument(name, lambda: REGISTRY.histogram(name, description, buckets=bounds)), Histogram
    )


def record_metric(name: str, value: float, attributes: Optional[Mapping[str, Any]] = None) -> None:
    """Records ``value`` in the instrument ``name`` as its kind does: a
    counter adds it, a gauge is set to it, a histogram counts it. A name
    not created yet becomes a gauge."""
    found = _instruments.get(name) or _instrument(name, lambda: REGISTRY.gauge(name))
    attrs = dict(attributes) if attributes else None
    if isinstance(found, Counter):
        found.add(value, attrs)
    elif isinstance(found, Gauge):
        found.set(value, attrs)
    else:
        found.record(value, attrs)


def record_event(
    name: str,
    fields: Optional[Mapping[str, Any]] = None,
    labels: Optional[Mapping[str, str]] = None,
    severity: str = "INFO",
) -> None:
    """Records a structured event, stamped with the current span's ids."""
    EVENTS.record(name, dict(fields) if fields else None, dict(labels) if labels else None, severity)


def _dashboard_server() -> DashboardServer:
    global _dashboard
    with _lock:
        if _dashboard is None:
            _dashboard = DashboardServer(REGISTRY, EVENTS, _tracer)
        return _dashboard


def start_dashboard_server(port: int = 9465, host: str = "127.0.0.1") -> int:
    """Serves Sonde's live dashboard of this module's metrics, events and
    spans (the 10,000 most recent, from the first call on) on ``host:port``
    (port 0: any free port) and returns the port; a second call returns the
    running server's port."""
    return _dashboard_server().start(port, host)


def stop_dashboard_server() -> None:
    """Stops the dashboard."""
    _dashboard_server().stop()


def register_view(metric_name: str, chart_type: str) -> None:
    """Shows ``metric_name`` on the dashboard's views page as
    ``chart_type``: ``line``, ``stacked_area``, ``gauge``, ``bar``,
    ``heatmap`` or ``single_stat`` (``ValueError`` otherwise)."""
    _dashboard_server().register_view(metric_name, chart_type)


def update_display() -> None:
    """Samples the metrics into the dashboard now (it samples every second
    by itself; open pages update every 500 ms)."""
    _dashboard_server().update()


def force_flush() -> None:
    """Sends every ended span and recorded event now."""
    _tracer.force_flush()
    EVENTS.flush()


def shutdown(timeout: float = 5.0) -> None:
    """Flushes and stops the exporters (run at interpreter exit)."""
    _tracer.shutdown(timeout)
    EVENTS.flush(timeout)
    _metric_export.stop(timeout)


atexit.register(shutdown)
