"""Spec 004 (``geno_lewm.metrics``) on Sonde's core: a registry of declared
metric specs, validated accessors and an atomic Prometheus textfile.

The caller declares its rows once, then asks for instruments by name::

    from sonde.specs import METRICS, MetricSpec, get_counter, export_prometheus_textfile

    METRICS.declare(MetricSpec("steps_total", "counter", "1", "Training steps run."))
    get_counter("steps_total").inc()
    export_prometheus_textfile()   # ${GENO_LEWM_LOG_DIR}/metrics.prom

An accessor raises :class:`InputError` for a name that was never declared
or a kind other than the declared one, and returns the same cached
instrument on every call. The instruments are Sonde's (thread-safe, no
lock on the recording path): counters ``inc(amount=1)``, gauges
``set``/``inc``/``dec``, histograms ``observe``; each has ``value()`` or
``snapshot()`` and ``reset()``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, TypedDict, Union

from sonde._native import Counter, Gauge, Histogram, Registry

__all__ = [
    "DEFAULT_HISTOGRAM_BUCKETS_BYTES",
    "DEFAULT_HISTOGRAM_BUCKETS_MS",
    "METRICS",
    "Counter",
    "Gauge",
    "Histogram",
    "HistogramSnapshot",
    "InputError",
    "InvariantViolation",
    "MetricKind",
    "MetricRegistry",
    "MetricSpec",
    "MetricsError",
    "export_prometheus_textfile",
    "get_counter",
    "get_gauge",
    "get_histogram",
    "metrics_path",
    "snapshot_all",
]

MetricKind = Literal["counter", "gauge", "histogram"]

DEFAULT_HISTOGRAM_BUCKETS_MS: tuple[float, ...] = (
    0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, float("inf"),
)
DEFAULT_HISTOGRAM_BUCKETS_BYTES: tuple[float, ...] = (
    1e6, 1e7, 1e8, 5e8, 1e9, 5e9, 1e10, 5e10, 1e11, float("inf"),
)

_KINDS = ("counter", "gauge", "histogram")


class MetricsError(Exception):
    """A metrics error with structured ``details``."""

    def __init__(self, message: str, details: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class InputError(MetricsError, ValueError):
    """Bad input: an undeclared name, a wrong kind, empty buckets, a spec
    that contradicts one already declared."""


class InvariantViolation(MetricsError, RuntimeError):
    """Something that cannot happen did."""


@dataclass(frozen=True)
class MetricSpec:
    """A single row in the :data:`METRICS` registry."""

    name: str
    kind: MetricKind
    unit: str
    summary: str

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise InputError(
                f"metric kind must be one of {', '.join(_KINDS)}",
                details={"name": self.name, "kind": self.kind},
            )


class HistogramSnapshot(TypedDict):
    """Structured snapshot returned by ``Histogram.snapshot()``: cumulative
    upper bounds (the last is always ``inf``), ``counts[i]`` the cumulative
    count of observations ``<= buckets[i]`` since the last reset."""

    buckets: tuple[float, ...]
    counts: list[int]
    sum: float
    count: int


class MetricRegistry(Mapping[str, MetricSpec]):
    """The declared specs by name: read-only as a mapping; rows are added
    with :meth:`declare` and never changed or removed (declaring an equal
    row again is allowed, a different one with the same name is not)."""

    def __init__(self) -> None:
        self._rows: dict[str, MetricSpec] = {}
        self._lock = threading.Lock()

    def declare(self, *specs: MetricSpec) -> None:
        """Adds rows; raises :class:`InputError` for a name already
        declared differently (nothing is added then)."""
        with self._lock:
            for spec in specs:
                known = self._rows.get(spec.name)
                if known is not None and known != spec:
                    raise InputError(
                        f"metric {spec.name!r} is already declared differently",
                        details={"name": spec.name, "declared": known, "given": spec},
                    )
            for spec in specs:
                self._rows[spec.name] = spec

    def __getitem__(self, name: str) -> MetricSpec:
        return self._rows[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._rows))

    def __len__(self) -> int:
        return len(self._rows)


#: The registry of declared metrics.
METRICS = MetricRegistry()

_REGISTRY = Registry()
_INSTANCES: dict[str, Union[Counter, Gauge, Histogram]] = {}
_INSTANCES_LOCK = threading.Lock()


def _require_spec(name: str, kind: MetricKind) -> MetricSpec:
    spec = METRICS.get(name)
    if spec is None:
        raise InputError(f"metric {name!r} is not declared in METRICS", details={"name": name})
    if spec.kind != kind:
        raise InputError(
            f"metric {name!r} is a {spec.kind}, not a {kind}",
            details={"name": name, "expected_kind": kind, "actual_kind": spec.kind},
        )
    return spec


def _cached(name: str, kind: MetricKind, make: Any, cls: type) -> Any:
    spec = _require_spec(name, kind)
    with _INSTANCES_LOCK:
        instance = _INSTANCES.get(name)
        if instance is None:
            instance = make(spec)
            _INSTANCES[name] = instance
    if not isinstance(instance, cls):  # pragma: no cover - kind already checked
        raise InvariantViolation(
            f"registered metric is not a {cls.__name__}",
            details={"name": name, "actual_kind": type(instance).__name__},
        )
    return instance


def get_counter(name: str) -> Counter:
    """The counter ``name`` (declared in :data:`METRICS` as a counter)."""
    return _cached(  # type: ignore[no-any-return]
        name, "counter", lambda s: _REGISTRY.counter(s.name, s.summary, labels=[]), Counter
    )


def get_gauge(name: str) -> Gauge:
    """The gauge ``name`` (declared in :data:`METRICS` as a gauge)."""
    return _cached(  # type: ignore[no-any-return]
        name, "gauge", lambda s: _REGISTRY.gauge(s.name, s.summary, labels=[]), Gauge
    )


def get_histogram(name: str, *, buckets: Optional[Iterable[float]] = None) -> Histogram:
    """The histogram ``name`` (declared in :data:`METRICS` as a histogram).
    Its buckets, fixed at the first call: ``buckets``, else
    :data:`DEFAULT_HISTOGRAM_BUCKETS_BYTES` for unit ``bytes`` and
    :data:`DEFAULT_HISTOGRAM_BUCKETS_MS` otherwise; ``inf`` is appended when
    missing. Empty buckets raise :class:`InputError`."""

    def make(spec: MetricSpec) -> Histogram:
        chosen = buckets
        if chosen is None:
            chosen = DEFAULT_HISTOGRAM_BUCKETS_BYTES if spec.unit == "bytes" else DEFAULT_HISTOGRAM_BUCKETS_MS
        bs = sorted(float(b) for b in chosen)
        if not bs:
            raise InputError("histogram buckets must be non-empty", details={"name": spec.name, "buckets": bs})
        finite = [b for b in bs if b != float("inf")]
        if not finite:
            raise InputError("histogram buckets need a finite bound", details={"name": spec.name, "buckets": bs})
        try:
            return _REGISTRY.histogram(spec.name, spec.summary, labels=[], buckets=finite)
        except ValueError as e:
            raise InputError(str(e), details={"name": spec.name, "buckets": bs}) from e

    return _cached(name, "histogram", make, Histogram)  # type: ignore[no-any-return]


def snapshot_all() -> dict[str, Mapping[str, object]]:
    """Every live metric: ``{"kind", "value"}`` for counters and gauges,
    ``{"kind": "histogram", "buckets", "counts", "sum", "count"}`` for
    histograms."""
    out: dict[str, Mapping[str, object]] = {}
    with _INSTANCES_LOCK:
        instances = list(_INSTANCES.values())
    for inst in instances:
        if isinstance(inst, Histogram):
            out[inst.name] = {"kind": "histogram", **inst.snapshot()}
        else:
            out[inst.name] = {"kind": inst.kind, "value": inst.value()}
    return out


def metrics_path(log_dir: Union[str, "os.PathLike[str]", None] = None) -> Path:
    """The default textfile: ``<log_dir>/metrics.prom``, else
    ``${GENO_LEWM_LOG_DIR}/metrics.prom``, else
    ``~/.geno-lewm/logs/metrics.prom``."""
    if log_dir is not None:
        base = Path(log_dir).expanduser()
    else:
        env = os.environ.get("GENO_LEWM_LOG_DIR")
        base = Path(env).expanduser() if env else Path.home() / ".geno-lewm" / "logs"
    return base / "metrics.prom"


def export_prometheus_textfile(path: Union[str, "os.PathLike[str]", None] = None) -> Path:
    """Writes every live metric (sorted by name, with ``# HELP`` and
    ``# TYPE`` lines and histograms' ``_bucket``/``_sum``/``_count``) to a
    Prometheus textfile and returns its path. Atomic: the text goes to
    ``<path>.tmp``, is flushed and renamed over ``<path>``, so a scraper
    reading meanwhile sees the previous file or the new one, never part of
    one."""
    dest = Path(path) if path is not None else metrics_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    _REGISTRY.write_textfile(dest)
    return dest


def _reset_for_tests() -> None:
    """Forgets every instance and declared row (tests only)."""
    with _INSTANCES_LOCK:
        for name in list(_INSTANCES):
            _REGISTRY.unregister(name)
        _INSTANCES.clear()
    METRICS._rows.clear()
