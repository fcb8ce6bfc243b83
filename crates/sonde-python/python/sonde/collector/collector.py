"""The collector: registration, events, hooks and the collection loop."""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional, Union

from sonde._native import Counter, EventLog, Gauge, Histogram, Registry

__all__ = [
    "HOOK_TYPES",
    "Metric",
    "MetricType",
    "TelemetryCollector",
    "setup_coordination_hooks",
    "setup_health_hooks",
    "setup_messaging_hooks",
]

logger = logging.getLogger("sonde.collector")

#: A registered metric: a Sonde counter, gauge or histogram handle.
Metric = Union[Counter, Gauge, Histogram]

#: The hook types :meth:`TelemetryCollector.add_hook` accepts, and what each
#: callback receives: ``event`` (the event dict, after each
#: ``record_event``), ``collection`` (the snapshot, after each collection
#: run), ``metric_registered`` (the name and the metric).
HOOK_TYPES = ("event", "collection", "metric_registered")


class MetricType(str, enum.Enum):
    """The kinds of metric."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


class TelemetryCollector:
    """Registers metrics, records events and collects periodically.

    Thread-safe: metrics may be recorded from any thread, and registration
    takes a lock. The collector's own metrics (``telemetry_*``) are in its
    registry beside the registered ones: collection runs, the last run's
    duration, the number of registered metrics and events recorded.
    """

    def __init__(self, collection_interval: float = 30.0, max_events: int = 10_000) -> None:
        if collection_interval <= 0:
            raise ValueError("collection_interval must be positive")
        self.collection_interval = collection_interval
        self.registry = Registry()
        self.events = EventLog(None, max_events)
        self._metrics: dict[str, Metric] = {}
        self._info: dict[str, dict[str, Any]] = {}
        self._hooks: dict[str, list[Callable[..., Any]]] = {t: [] for t in HOOK_TYPES}
        self._lock = threading.RLock()
        self._task: Optional[asyncio.Task[None]] = None
        self._running = False
        self.collection_runs = self.registry.counter(
            "telemetry_collection_runs_total", "Collection runs completed.", labels=[]
        )
        self.collection_duration = self.registry.gauge(
            "telemetry_collection_duration_seconds", "Duration of the last collection run.", labels=[]
        )
        self.metrics_count = self.registry.gauge("telemetry_metrics_count", "Registered metrics.", labels=[])
        self.events_total = self.registry.counter("telemetry_events_total", "Events recorded.", labels=[])

    # Registration -------------------------------------------------------

    def _register(self, name: str, kind: MetricType, description: str, labels: Optional[Mapping[str, str]], make: Callable[[dict[str, str]], Metric]) -> Any:
        if labels is not None and not isinstance(labels, Mapping):
            raise TypeError(f"labels of {name} are constant labels: a dict of label names to values")
        const = {str(k): str(v) for k, v in (labels or {}).items()}
        with self._lock:
            found = self._metrics.get(name)
            if found is not None:
                if self._info[name]["type"] != kind:
                    raise ValueError(f"{name} is registered as a {self._info[name]['type'].value}, not a {kind.value}")
                return found
            metric = make(const)
            self._metrics[name] = metric
            self._info[name] = {"type": kind, "description": description, "labels": const}
            self.metrics_count.set(len(self._metrics))
        self._run_hooks("metric_registered", name, metric)
        return metric

    def register_counter(self, name: str, description: str = "", labels: Optional[Mapping[str, str]] = None) -> Counter:
        """Registers (or returns the registered) counter ``name``; ``labels``
        are constant labels on its one series."""
        return self._register(  # type: ignore[no-any-return]
            name, MetricType.COUNTER, description, labels,
            lambda const: self.registry.counter(name, description, labels=[], const_labels=const),
        )

    def register_gauge(self, name: str, description: str = "", labels: Optional[Mapping[str, str]] = None) -> Gauge:
        """Registers (or returns the registered) gauge ``name``."""
        return self._register(  # type: ignore[no-any-return]
            name, MetricType.GAUGE, description, labels,
            lambda const: self.registry.gauge(name, description, labels=[], const_labels=const),
        )

    def register_histogram(
        self,
        name: str,
        description: str = "",
        buckets: Optional[Sequence[float]] = None,
        labels: Optional[Mapping[str, str]] = None,
    ) -> Histogram:
        """Registers (or returns the registered) histogram ``name`` with
        these bucket upper bounds (default: 5 ms to 10 s)."""
        bounds = [float(b) for b in buckets] if buckets else None
        return self._register(  # type: ignore[no-any-return]
            name, MetricType.HISTOGRAM, description, labels,
            lambda const: self.registry.histogram(name, description, labels=[], buckets=bounds, const_labels=const),
        )

    def get_metric(self, name: str) -> Optional[Metric]:
        """The registered metric ``name``, or None."""
        return self._metrics.get(name)

    # Events and hooks ---------------------------------------------------

    def record_event(
        self,
        name: str,
        value: Any = None,
        labels: Optional[Mapping[str, str]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Records a structured event: ``value`` (a dict becomes its
        fields; anything else the field ``value``), ``labels`` and
        ``metadata`` (fields named ``metadata.<key>``). Kept in the event
        log (the most recent ``max_events``), exported as OTLP log records
        when the environment asks, and passed to ``event`` hooks."""
        fields: dict[str, Any] = dict(value) if isinstance(value, Mapping) else ({} if value is None else {"value": value})
        for k, v in (metadata or {}).items():
            fields[f"metadata.{k}"] = v
        self.events.record(name, fields, dict(labels) if labels else None)
        self.events_total.inc()
        event = {"name": name, "value": value, "labels": dict(labels or {}), "metadata": dict(metadata or {}), "timestamp": time.time()}
        self._run_hooks("event", event)

    def add_hook(self, hook_type: str, callback: Callable[..., Any]) -> None:
        """Calls ``callback`` at ``hook_type`` (one of :data:`HOOK_TYPES`).
        A hook that raises is logged, never propagated."""
        if hook_type not in self._hooks:
            raise ValueError(f"unknown hook type {hook_type!r}; known: {', '.join(HOOK_TYPES)}")
        with self._lock:
            self._hooks[hook_type].append(callback)

    def _run_hooks(self, hook_type: str, *args: Any) -> None:
        for hook in list(self._hooks[hook_type]):
            try:
                hook(*args)
            except Exception:
                logger.exception("telemetry %s hook %r failed", hook_type, hook)

    # Collection ---------------------------------------------------------

    def collect(self) -> dict[str, Any]:
        """One collection run: updates the ``telemetry_*`` metrics, calls
        the ``collection`` hooks with the snapshot and returns it."""
        started = time.perf_counter()
        snapshot = self.get_snapshot()
        self._run_hooks("collection", snapshot)
        self.collection_duration.set(time.perf_counter() - started)
        self.collection_runs.inc()
        return snapshot

    async def _loop(self) -> None:
        while self._running:
            try:
                self.collect()
            except Exception:
                logger.exception("telemetry collection failed")
            await asyncio.sleep(self.collection_interval)

    async def start_collection(self) -> None:
        """Starts collecting every ``collection_interval`` seconds on the
        running event loop (the first run at once); a second call does
        nothing."""
        if self._running:
            return
        self._running = True
        self._task = asyncio.get_running_loop().create_task(self._loop())
        await asyncio.sleep(0)

    async def stop_collection(self) -> None:
        """Stops the collection loop and waits for it."""
        self._running = False
        task, self._task = self._task, None
        await cancel_and_wait(task)

    @property
    def running(self) -> bool:
        """Whether the collection loop runs."""
        return self._running

    def get_snapshot(self) -> dict[str, Any]:
        """``{"timestamp", "metrics": {name: {"value", "labels",
        "timestamp", "type", "description"}}, "events_count", "running"}``;
        a histogram's ``value`` is ``{"count", "sum", "buckets": {bound:
        cumulative count}}``."""
        now = time.time()
        metrics: dict[str, Any] = {}
        with self._lock:
            items = list(self._metrics.items())
        for name, metric in items:
            info = self._info[name]
            value: Any
            if isinstance(metric, Histogram):
                snap = metric.snapshot()
                value = {
                    "count": snap["count"],
                    "sum": snap["sum"],
                    "buckets": {repr(b) if b != float("inf") else "+Inf": c for b, c in zip(snap["buckets"], snap["counts"])},
                }
            else:
                value = metric.value()
            metrics[name] = {
                "value": value,
                "labels": dict(info["labels"]),
                "timestamp": now,
                "type": info["type"].value,
                "description": info["description"],
            }
        return {"timestamp": now, "metrics": metrics, "events_count": self.events.recorded(), "running": self._running}

    def prometheus_text(self) -> str:
        """The Prometheus text exposition of every metric."""
        return self.registry.prometheus_text()


async def cancel_and_wait(task: Optional[asyncio.Task[None]]) -> None:
    """Cancels a loop's task (if any) and waits until it has stopped."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


def _register_all(collector: TelemetryCollector, rows: Sequence[tuple[str, str, str]]) -> dict[str, Metric]:
    out: dict[str, Metric] = {}
    for kind, name, description in rows:
        if kind == "counter":
            out[name] = collector.register_counter(name, description)
        elif kind == "gauge":
            out[name] = collector.register_gauge(name, description)
        else:
            out[name] = collector.register_histogram(name, description)
    return out


def setup_coordination_hooks(collector: TelemetryCollector) -> dict[str, Metric]:
    """Registers the coordination system's metrics and returns them by name."""
    return _register_all(collector, [
        ("counter", "coordination_messages_total", "Total coordination messages"),
        ("gauge", "coordination_active_nodes", "Number of active coordination nodes"),
        ("histogram", "coordination_message_latency_seconds", "Coordination message latency"),
    ])


def setup_messaging_hooks(collector: TelemetryCollector) -> dict[str, Metric]:
    """Registers the messaging system's metrics and returns them by name."""
    return _register_all(collector, [
        ("counter", "messages_sent_total", "Total messages sent"),
        ("counter", "messages_received_total", "Total messages received"),
        ("gauge", "message_queue_size", "Current message queue size"),
        ("histogram", "message_processing_duration_seconds", "Message processing duration"),
    ])


def setup_health_hooks(collector: TelemetryCollector) -> dict[str, Metric]:
    """Registers the health system's metrics (``health_status``: 0 unknown,
    1 healthy, 2 degraded, 3 unhealthy) and returns them by name."""
    return _register_all(collector, [
        ("gauge", "health_status", "Current health status (0=unknown, 1=healthy, 2=degraded, 3=unhealthy)"),
        ("counter", "health_checks_total", "Total health checks performed"),
        ("histogram", "health_check_duration_seconds", "Health check duration"),
    ])
