"""Exporters of a collector's metrics: Prometheus textfile, JSON, several
at once, and periodic export with retries."""

from __future__ import annotations

import abc
import asyncio
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Optional, Union

from sonde.collector.collector import TelemetryCollector, cancel_and_wait

__all__ = ["JSONExporter", "MetricsExporter", "MultiExporter", "PeriodicExporter", "PrometheusAdapter"]

logger = logging.getLogger("sonde.collector")

PathLike = Union[str, "os.PathLike[str]"]


class MetricsExporter(abc.ABC):
    """Exports a collector's metrics somewhere. ``export_metrics`` returns
    True on success; a failure is logged and returns False (the last error
    is kept in ``last_error``)."""

    last_error: Optional[BaseException] = None

    @abc.abstractmethod
    async def export_metrics(self, collector: TelemetryCollector) -> bool:
        """Exports ``collector``'s metrics once."""

    async def _write(self, write: Callable[[Path], None], path: Path) -> bool:
        """Runs ``write(path)`` on a worker thread; logs and keeps an
        ``OSError``."""
        try:
            await asyncio.to_thread(write, path)
            return True
        except OSError as e:
            self.last_error = e
            logger.warning("%s export to %s failed: %s", type(self).__name__, path, e)
            return False


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class PrometheusAdapter(MetricsExporter):
    """Writes the Prometheus text exposition to ``output_path`` atomically
    (a reader sees the old file or the new one, never part of one): for
    node_exporter's textfile collector."""

    def __init__(self, output_path: PathLike = "metrics.prom") -> None:
        self.output_path = Path(output_path)

    def format_metrics(self, collector: TelemetryCollector) -> str:
        """The exposition text."""
        return collector.prometheus_text()

    async def export_metrics(self, collector: TelemetryCollector) -> bool:
        return await self._write(collector.registry.write_textfile, self.output_path)


class JSONExporter(MetricsExporter):
    """Writes the collector's snapshot (``get_snapshot()``) as JSON to
    ``output_path`` atomically."""

    def __init__(self, output_path: PathLike = "metrics.json", indent: Optional[int] = 2) -> None:
        self.output_path = Path(output_path)
        self.indent = indent

    def format_metrics(self, collector: TelemetryCollector) -> str:
        """The JSON text."""
        return json.dumps(collector.get_snapshot(), indent=self.indent, default=str)

    async def export_metrics(self, collector: TelemetryCollector) -> bool:
        text = self.format_metrics(collector)
        return await self._write(lambda path: _write_atomic(path, text), self.output_path)


class MultiExporter(MetricsExporter):
    """Exports to every exporter at once; succeeds when all do."""

    def __init__(self, exporters: Sequence[MetricsExporter]) -> None:
        self.exporters = list(exporters)

    async def export_metrics(self, collector: TelemetryCollector) -> bool:
        results = await asyncio.gather(*(e.export_metrics(collector) for e in self.exporters), return_exceptions=True)
        ok = True
        for exporter, result in zip(self.exporters, results):
            if isinstance(result, BaseException):
                self.last_error = result
                logger.warning("export by %r failed: %s", exporter, result)
                ok = False
            elif not result:
                self.last_error = exporter.last_error
                ok = False
        return ok


class PeriodicExporter:
    """Exports ``collector`` through ``exporter`` every ``interval``
    seconds on the running event loop. A failed export is retried up to
    ``max_retries`` times, waiting 0.5 s doubling up to the interval;
    ``exports``, ``failures`` and ``retries`` count what happened (and the
    collector's ``telemetry_exports_total{result}`` too). :meth:`stop`
    exports once more, so the last values are written."""

    def __init__(
        self,
        exporter: MetricsExporter,
        collector: TelemetryCollector,
        interval: float = 30.0,
        max_retries: int = 3,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.exporter = exporter
        self.collector = collector
        self.interval = interval
        self.max_retries = max_retries
        self.exports = 0
        self.failures = 0
        self.retries = 0
        self._results = collector.registry.counter(
            "telemetry_exports_total", "Periodic exports by result.", labels=["result"]
        )
        self._task: Optional[asyncio.Task[None]] = None

    async def export_once(self) -> bool:
        """Exports, retrying a failure; True when an attempt succeeded."""
        delay = 0.5
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.retries += 1
                await asyncio.sleep(min(delay, self.interval))
                delay *= 2
            if await self.exporter.export_metrics(self.collector):
                self.exports += 1
                self._results.labels("success").inc()
                return True
        self.failures += 1
        self._results.labels("failure").inc()
        return False

    async def _loop(self) -> None:
        while True:
            await self.export_once()
            await asyncio.sleep(self.interval)

    async def start(self) -> None:
        """Starts exporting (the first export at once); a second call does
        nothing."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())
            await asyncio.sleep(0)

    async def stop(self) -> None:
        """Stops, then exports once more."""
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait(task)
            await self.export_once()

    @property
    def running(self) -> bool:
        """Whether it exports periodically."""
        return self._task is not None
