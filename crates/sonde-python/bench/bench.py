#!/usr/bin/env python3
"""Per-call cost from Python: Sonde against prometheus_client, the
OpenTelemetry Python SDK and the statsd package, measured in the same run.

Each row times a loop of calls with timeit: the median of --repeats
repeats, in nanoseconds per call. The StatsD rows count the lines a UDP
receiver (another process) got, so a client that drops lines cannot look
fast. Usage (from the repository root, after `pip install
./crates/sonde-python` into .venv):

    .venv/bin/python crates/sonde-python/bench/bench.py [--repeats 7]

Prints a Markdown table, then the four-thread throughput of one counter.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import timeit
from typing import Any, Callable

RECEIVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(0.5)
lines = 0
idle = 0
while idle < 4:
    try:
        data = s.recv(65536)
        lines += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        idle = 0
    except socket.timeout:
        idle += 1
print(lines, flush=True)
"""


def per_call(stmt: str, names: dict[str, Any], number: int, repeats: int) -> float:
    """Median nanoseconds per call of the statement `stmt` over `repeats`
    timed loops (a statement, not a lambda: no extra call in the loop)."""
    timer = timeit.Timer(stmt, globals=names)
    times = timer.repeat(repeat=repeats, number=number)
    return statistics.median(times) / number * 1e9


def statsd_row(make: Callable[[int], Any], flush: Callable[[Any], None], number: int, repeats: int) -> tuple[float, int]:
    """Nanoseconds per `incr` (sending included) and the lines delivered."""
    samples = []
    delivered = 0
    for _ in range(repeats):
        receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline())
        client = make(port)
        started = time.perf_counter()
        for _ in range(number):
            client.incr("bench.hits")
        flush(client)
        samples.append((time.perf_counter() - started) / number * 1e9)
        delivered = int(receiver.stdout.readline())
        receiver.wait(timeout=30)
    return statistics.median(samples), delivered


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--number", type=int, default=200_000)
    args = parser.parse_args()
    n, r = args.number, args.repeats

    import prometheus_client
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    import sonde.aggregator as sa
    import sonde.telemetry as st

    pc = prometheus_client.CollectorRegistry()
    pc_counter = prometheus_client.Counter("pc_hits", "Hits.", registry=pc)
    pc_labeled = prometheus_client.Counter("pc_requests", "Requests.", ["method", "code"], registry=pc)
    pc_histogram = prometheus_client.Histogram("pc_latency_seconds", "Latency.", registry=pc)
    meter = MeterProvider().get_meter("bench")
    otel_counter = meter.create_counter("otel_hits")
    otel_histogram = meter.create_histogram("otel_latency")
    otel_tracer = TracerProvider().get_tracer("bench")

    counter = sa.create_counter("bench_hits", "Hits.")
    labeled = sa.create_counter("bench_requests", "Requests.", ("method", "code"))
    histogram = sa.create_histogram("bench_latency_seconds", "Latency.")
    attributes = {"method": "GET", "code": "200"}
    otel_hits = st.create_counter("bench_otel_hits")
    otel_requests = st.create_counter("bench_otel_requests")
    otel_latency = st.create_histogram("bench_otel_latency_seconds")
    names = dict(locals())
    names["start_span"] = st.start_span

    rows: list[tuple[str, str, float, str, float]] = []

    def row(what: str, ours_stmt: str, peer: str, peer_stmt: str, number: int = n) -> None:
        ours = per_call(ours_stmt, names, number, r)
        theirs = per_call(peer_stmt, names, number, r)
        rows.append((what, f"`{ours_stmt}`", ours, f"{peer} `{peer_stmt}`", theirs))

    row("counter increment", "counter.inc()", "prometheus_client", "pc_counter.inc()")
    row("counter increment", "otel_hits.add(1)", "opentelemetry-sdk", "otel_counter.add(1)")
    row("labeled increment", "labeled.labels('GET', '200').inc()", "prometheus_client", "pc_labeled.labels('GET', '200').inc()")
    row("labeled increment", "otel_requests.add(1, attributes)", "opentelemetry-sdk", "otel_counter.add(1, attributes)")
    row("histogram observe", "histogram.observe(0.042)", "prometheus_client", "pc_histogram.observe(0.042)")
    row("histogram observe", "otel_latency.record(0.042)", "opentelemetry-sdk", "otel_histogram.record(0.042)")
    row("span start/end, two attributes", "start_span('op', attributes={'http.route': '/orders', 'retries': 2}).end()",
        "opentelemetry-sdk", "otel_tracer.start_span('op', attributes={'http.route': '/orders', 'retries': 2}).end()",
        number=n // 10)

    import statsd

    statsd_n = n // 4
    ours, ours_lines = statsd_row(lambda port: sa.StatsDClient("127.0.0.1", port, "bench"), lambda c: c.flush(10.0), statsd_n, 3)
    theirs, their_lines = statsd_row(lambda port: statsd.StatsClient("127.0.0.1", port, prefix="bench"), lambda c: None, statsd_n, 3)
    rows.append((f"StatsD `incr`, {statsd_n:,} lines, delivered {ours_lines:,} vs {their_lines:,}",
                 "`client.incr('bench.hits')` + `flush()`", ours, "statsd (PyPI) `incr`", theirs))

    from importlib.metadata import version

    print(f"Python {sys.version.split()[0]}; " + ", ".join(
        f"{p} {version(p)}" for p in ("prometheus_client", "opentelemetry-sdk", "statsd", "sonde")
    ) + f"; median of {r} loops of {n:,} calls ({n // 10:,} spans)")
    print()
    print("| row | Sonde | ns/call | peer | ns/call | Sonde faster by |")
    print("| --- | --- | ---: | --- | ---: | ---: |")
    for what, ours_stmt, ours_ns, peer, theirs_ns in rows:
        print(f"| {what} | {ours_stmt} | {ours_ns:,.0f} | {peer} | {theirs_ns:,.0f} | {theirs_ns / ours_ns:.1f}x |")

    # Four threads on one counter: total throughput against one thread.
    def throughput(threads: int, inc: Callable[[], None], per_thread: int = 200_000) -> float:
        def work() -> None:
            for _ in range(per_thread):
                inc()

        pool = [threading.Thread(target=work) for _ in range(threads)]
        started = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return threads * per_thread / (time.perf_counter() - started)

    print()
    for name, inc in (("sonde", counter.inc), ("prometheus_client", pc_counter.inc)):
        one = statistics.median(throughput(1, inc) for _ in range(3))
        four = statistics.median(throughput(4, inc) for _ in range(3))
        print(f"four threads on one counter, {name}: {four / 1e6:.2f} M/s against {one / 1e6:.2f} M/s on one thread "
              f"({four / one:.2f}x)")
    print(f"(os.cpu_count() = {os.cpu_count()})")


if __name__ == "__main__":
    main()
