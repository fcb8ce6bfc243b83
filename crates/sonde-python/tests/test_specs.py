"""Spec 004 (geno_lewm.metrics) as sonde.specs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

import sonde.specs as specs
from sonde.specs import (
    DEFAULT_HISTOGRAM_BUCKETS_BYTES,
    DEFAULT_HISTOGRAM_BUCKETS_MS,
    METRICS,
    InputError,
    MetricSpec,
    export_prometheus_textfile,
    get_counter,
    get_gauge,
    get_histogram,
    metrics_path,
    snapshot_all,
)

ROWS = (
    MetricSpec("train_steps_total", "counter", "1", "Training steps run."),
    MetricSpec("train_loss", "gauge", "1", "Last training loss."),
    MetricSpec("train_step_latency", "histogram", "ms", "Training step duration."),
    MetricSpec("checkpoint_bytes", "histogram", "bytes", "Checkpoint size."),
)


@pytest.fixture(autouse=True)
def declared() -> Iterator[None]:
    specs._reset_for_tests()
    METRICS.declare(*ROWS)
    yield
    specs._reset_for_tests()


def test_accessors_return_one_cached_instance_per_name() -> None:
    steps = get_counter("train_steps_total")
    assert get_counter("train_steps_total") is steps
    steps.inc()
    steps.inc(2)
    loss = get_gauge("train_loss")
    loss.set(0.25)
    assert steps.value() == 3 and loss.value() == 0.25
    assert steps.kind == "counter" and loss.kind == "gauge"
    steps.reset()
    assert steps.value() == 0


def test_unknown_names_and_wrong_kinds_raise_input_error() -> None:
    with pytest.raises(InputError) as unknown:
        get_counter("not_declared_total")
    assert unknown.value.details == {"name": "not_declared_total"}
    with pytest.raises(InputError) as wrong:
        get_gauge("train_steps_total")
    assert wrong.value.details["actual_kind"] == "counter"
    with pytest.raises(InputError):
        get_histogram("train_loss")
    with pytest.raises(ValueError):  # InputError is a ValueError too
        get_counter("train_loss")
    with pytest.raises(InputError):
        MetricSpec("x", "summary", "1", "no such kind")  # type: ignore[arg-type]


def test_the_registry_is_read_only_and_declared_rows_do_not_change() -> None:
    assert METRICS["train_loss"].unit == "1"
    assert len(METRICS) == 4 and "train_step_latency" in METRICS
    METRICS.declare(ROWS[0])  # the same row again is fine
    with pytest.raises(InputError):
        METRICS.declare(MetricSpec("train_loss", "counter", "1", "renamed kind"))
    with pytest.raises(TypeError):
        METRICS["x"] = ROWS[0]  # type: ignore[index]


def test_histogram_buckets_follow_the_unit_and_always_end_with_inf() -> None:
    ms = get_histogram("train_step_latency")
    ms.observe(3)
    ms.observe(20_000)
    snap = ms.snapshot()
    assert snap["buckets"] == tuple(float(b) for b in DEFAULT_HISTOGRAM_BUCKETS_MS)
    assert snap["counts"][3] == 1 and snap["counts"][-1] == 2 and snap["count"] == 2 and snap["sum"] == 20_003
    size = get_histogram("checkpoint_bytes")
    assert size.snapshot()["buckets"] == DEFAULT_HISTOGRAM_BUCKETS_BYTES


def test_custom_buckets_are_sorted_and_empty_buckets_are_refused() -> None:
    METRICS.declare(MetricSpec("custom_milliseconds", "histogram", "ms", "Custom."), MetricSpec("empty_milliseconds", "histogram", "ms", "Empty."))
    h = get_histogram("custom_milliseconds", buckets=[10, 1, 5])
    assert h.snapshot()["buckets"] == (1.0, 5.0, 10.0, float("inf"))
    with pytest.raises(InputError) as empty:
        get_histogram("empty_milliseconds", buckets=[])
    assert empty.value.details["name"] == "empty_milliseconds"


def test_snapshot_all_has_the_documented_shapes() -> None:
    get_counter("train_steps_total").inc(5)
    get_gauge("train_loss").set(1.5)
    get_histogram("train_step_latency").observe(1)
    snapshot = snapshot_all()
    assert snapshot["train_steps_total"] == {"kind": "counter", "value": 5.0}
    assert snapshot["train_loss"] == {"kind": "gauge", "value": 1.5}
    histogram = snapshot["train_step_latency"]
    assert histogram["kind"] == "histogram" and histogram["count"] == 1 and histogram["sum"] == 1.0
    assert set(histogram) == {"kind", "buckets", "counts", "sum", "count"}
    assert "checkpoint_bytes" not in snapshot  # only live instances


def test_metrics_path_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GENO_LEWM_LOG_DIR", str(tmp_path / "logs"))
    assert metrics_path() == tmp_path / "logs" / "metrics.prom"
    assert metrics_path("~/elsewhere") == Path.home() / "elsewhere" / "metrics.prom"
    monkeypatch.delenv("GENO_LEWM_LOG_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert metrics_path() == tmp_path / "home" / ".geno-lewm" / "logs" / "metrics.prom"


def test_the_textfile_is_valid_for_promtool_and_prometheus_client(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    promtool: Callable[..., None],
    parse_exposition: Callable[[str], dict[str, Any]],
) -> None:
    monkeypatch.setenv("GENO_LEWM_LOG_DIR", str(tmp_path / "new" / "dir"))
    get_counter("train_steps_total").inc(7)
    get_gauge("train_loss").set(0.5)
    get_histogram("train_step_latency").observe(30)
    written = export_prometheus_textfile()
    assert written == tmp_path / "new" / "dir" / "metrics.prom"
    text = written.read_text()
    promtool(text)
    families = parse_exposition(text)
    assert families["train_steps"]["samples"][("train_steps_total",)] == 7
    assert families["train_loss"]["samples"][("train_loss",)] == 0.5
    assert families["train_step_latency"]["samples"][("train_step_latency_bucket", ("le", "50"))] == 1
    assert families["train_step_latency"]["samples"][("train_step_latency_count",)] == 1
    assert "# HELP train_step_latency Training step duration." in text
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert names == sorted(names)
    assert export_prometheus_textfile(tmp_path / "explicit.prom") == tmp_path / "explicit.prom"
    assert not (tmp_path / "explicit.prom.tmp").exists()


def test_readers_never_see_a_partial_textfile(tmp_path: Path, parse_exposition: Callable[[str], dict[str, Any]]) -> None:
    # Many series, so one write takes several syscalls.
    METRICS.declare(*(MetricSpec(f"load_{i}_total", "counter", "1", "Load " * 20) for i in range(300)))
    counters = [get_counter(f"load_{i}_total") for i in range(300)]
    path = tmp_path / "metrics.prom"
    export_prometheus_textfile(path)
    stop = threading.Event()
    torn: list[str] = []
    reads = [0]

    def read() -> None:
        while not stop.is_set():
            text = path.read_text()
            reads[0] += 1
            values = {line.split()[1] for line in text.splitlines() if line.startswith("load_")}
            # Every write has all 300 series, all with the same value.
            if len(values) != 1 or text.count("# TYPE") != 300:
                torn.append(text)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for r in readers:
        r.start()
    for round_ in range(1, 60):
        for c in counters:
            c.inc()
        export_prometheus_textfile(path)
    stop.set()
    for r in readers:
        r.join()
    assert reads[0] > 0
    assert torn == []
    parse_exposition(path.read_text())
