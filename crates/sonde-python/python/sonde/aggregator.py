"""Spec 000 (``codomyrmex.telemetry.metrics``) on Sonde's core.

Three metric systems: :class:`MetricAggregator` for in-process collection,
:class:`PrometheusExporter` serving ``/metrics`` for Prometheus, and
:class:`StatsDClient` pushing over UDP. Unlike the document's aggregator,
this one is thread-safe. ``create_counter``/``create_gauge``/
``create_histogram`` take prometheus_client's arguments and return Sonde
handles with its methods (``inc``, ``dec``, ``set``, ``observe``,
``labels``), declared in :data:`REGISTRY`, which the exporter serves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Optional

from sonde._guards import Guard
from sonde._native import (
    Counter,
    Gauge,
    Histogram,
    HistogramBucket,
    MetricAggregator,
    MetricsServer,
    Registry,
)
from sonde._native import StatsdClient as _StatsdClient

__all__ = [
    "REGISTRY",
    "HistogramBucket",
    "MetricAggregator",
    "PrometheusExporter",
    "StatsDClient",
    "create_counter",
    "create_gauge",
    "create_histogram",
]

#: Where ``create_*`` declare their metrics, and what
#: :class:`PrometheusExporter` serves by default.
REGISTRY = Registry()

class PrometheusExporter:
    """Serves ``/metrics`` (Prometheus text, OpenMetrics or protobuf, as the
    scraper asks) for a registry on ``addr:port``.

    The default address is ``127.0.0.1`` (the document's ``0.0.0.0`` would
    expose the endpoint to the network; pass it explicitly for that).
    :meth:`start` is idempotent.
    """

    def __init__(self, port: int = 8000, addr: str = "127.0.0.1", registry: Optional[Registry] = None) -> None:
        self.port = port
        self.addr = addr
        self._server = MetricsServer(registry if registry is not None else REGISTRY, port, addr)
        self._server_started = False

    def start(self) -> None:
        """Starts the HTTP server; a second call does nothing. ``port`` is
        the bound port afterwards (useful with port 0)."""
        if not self._server_started:
            self.port = self._server.start()
            self._server_started = True

    def stop(self) -> None:
        """Stops the HTTP server."""
        self._server.stop()
        self._server_started = False


def create_counter(name: str, documentation: str = "", labelnames: Sequence[str] = ()) -> Counter:
    """Declares a counter in :data:`REGISTRY` (exposed as ``<name>_total``)."""
    return REGISTRY.counter(name, documentation, labels=list(labelnames))


def create_gauge(name: str, documentation: str = "", labelnames: Sequence[str] = ()) -> Gauge:
    """Declares a gauge in :data:`REGISTRY`."""
    return REGISTRY.gauge(name, documentation, labels=list(labelnames))


def create_histogram(
    name: str,
    documentation: str = "",
    labelnames: Sequence[str] = (),
    buckets: Optional[Sequence[float]] = None,
) -> Histogram:
    """Declares a histogram in :data:`REGISTRY` (default buckets:
    prometheus_client's, 5 ms to 10 s)."""
    return REGISTRY.histogram(
        name, documentation, labels=list(labelnames), buckets=list(buckets) if buckets else None
    )


class Timer(Guard):
    """Times a block (``with``), each call of a function (decorator), or
    from ``start()`` to ``stop()``, and sends the elapsed milliseconds as a
    StatsD timing."""

    def __init__(self, client: StatsDClient, name: str, rate: float = 1) -> None:
        self.client = client
        self.name = name
        self.rate = rate
        self.ms: Optional[float] = None
        self._start: Optional[float] = None

    def start(self) -> Timer:
        """Starts timing."""
        self._start = time.perf_counter()
        return self

    def stop(self, send: bool = True) -> float:
        """Stops timing, sends the timing (unless ``send`` is false) and
        returns the elapsed milliseconds."""
        if self._start is None:
            raise RuntimeError("timer stopped before it was started")
        self.ms = (time.perf_counter() - self._start) * 1000.0
        self._start = None
        if send:
            self.client.timing(self.name, self.ms, self.rate)
        return self.ms

    def enter(self) -> None:
        self.start()

    def leave(self, exception: Optional[BaseException]) -> None:
        self.stop()

    def copy(self) -> Timer:
        return Timer(self.client, self.name, self.rate)


class StatsDClient(_StatsdClient):
    """Sends StatsD lines over UDP to ``host:port`` (defaults:
    ``$STATSD_HOST`` else ``localhost``, ``$STATSD_PORT`` else 8125), each
    name prefixed with ``prefix.``. Lines are batched into datagrams and
    sent within 100 ms (``flush()`` sends at once); nothing waits for the
    network. Raises ``OSError`` when the host does not resolve."""

    def __new__(cls, host: Optional[str] = None, port: Optional[int] = None, prefix: str = "codomyrmex") -> StatsDClient:
        return super().__new__(cls, host, port, prefix)

    def __init__(self, host: Optional[str] = None, port: Optional[int] = None, prefix: str = "codomyrmex") -> None:
        pass

    def timer(self, name: str, rate: float = 1) -> Timer:
        """A timer sending ``name``'s timing in milliseconds: a context
        manager, a decorator, or ``start()``/``stop()``."""
        return Timer(self, name, rate)
