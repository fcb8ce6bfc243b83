"""Shared fixtures: the real peers (promtool, prometheus_client's parser,
the npm StatsD daemon, the OTLP receiver on the official protobuf
classes), started on loopback and stopped by PID. Under
SONDE_REQUIRE_PEERS=1 a missing peer fails the test; otherwise it skips
with the reason."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Optional, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[3]
PEERS = ROOT / "tests" / "peers"
T = TypeVar("T")


def missing(what: str) -> None:
    """Fails (SONDE_REQUIRE_PEERS=1) or skips for a missing peer."""
    if os.environ.get("SONDE_REQUIRE_PEERS") == "1":
        pytest.fail(f"peer missing: {what}")
    pytest.skip(f"peer missing: {what}")


def wait_until(what: str, probe: Callable[[], Optional[T]], seconds: float = 20.0) -> T:
    """Polls ``probe`` until it returns something other than None or False;
    fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def promtool() -> Callable[..., None]:
    """``check(text, allowed=())``: runs ``promtool check metrics`` on an
    exposition and fails the test on any complaint but the lint lines
    starting with one of ``allowed`` (names a document dictates)."""
    path = shutil.which("promtool")
    if path is None:
        missing("promtool (Debian prometheus)")
    assert path is not None

    def check(text: str, allowed: tuple[str, ...] = ()) -> None:
        done = subprocess.run([path, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
        out = (done.stdout + done.stderr).decode()
        complaints = [line for line in out.splitlines() if line.strip() and not line.startswith(allowed)]
        # Exit code 3 is "lint problems only"; anything else is an error.
        assert done.returncode in ((0, 3) if allowed else (0,)), f"promtool check metrics:\n{out}\n---\n{text}"
        assert not complaints, f"promtool check metrics:\n{out}\n---\n{text}"

    return check


@pytest.fixture
def parse_exposition() -> Callable[[str], dict[str, Any]]:
    """Parses an exposition with prometheus_client's parser:
    ``{family name: {"type", "samples": {(name, labels...): value}}}``."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        missing("prometheus_client (PyPI)")

    def parse(text: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for family in text_string_to_metric_families(text):
            samples = {}
            for s in family.samples:
                samples[(s.name, *sorted(s.labels.items()))] = s.value
            out[family.name] = {"type": family.type, "samples": samples}
        return out

    return parse


class StatsdDaemon:
    """The npm StatsD daemon, with its management port."""

    def __init__(self, process: subprocess.Popen[bytes], udp: int, mgmt: int) -> None:
        self.process = process
        self.udp = udp
        self.mgmt_port = mgmt

    def mgmt(self, command: str) -> str:
        with socket.create_connection(("127.0.0.1", self.mgmt_port), timeout=5) as s:
            s.sendall(command.encode() + b"\n")
            data = b""
            while b"END" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.sendall(b"quit\n")
        return data.decode().split("END")[0]


@pytest.fixture
def statsd_daemon() -> Iterator[StatsdDaemon]:
    package = PEERS / "node_modules" / "statsd"
    node = shutil.which("node")
    if node is None or not package.is_dir():
        missing("the StatsD daemon (npm statsd in tests/peers, and node)")
    assert node is not None
    udp, mgmt = free_port(socket.SOCK_DGRAM), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.js"
        config.write_text(
            f"{{ port: {udp}, address: '127.0.0.1', mgmt_port: {mgmt}, mgmt_address: '127.0.0.1', "
            "flushInterval: 3600000, backends: ['./backends/console'], deleteIdleStats: false }"
        )
        process = subprocess.Popen(
            [node, str(package / "stats.js"), str(config)],
            cwd=package,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            def listening() -> Optional[bool]:
                assert process.poll() is None, "the StatsD daemon exited"
                try:
                    socket.create_connection(("127.0.0.1", mgmt), timeout=1).close()
                    return True
                except OSError:
                    return None

            wait_until("the StatsD daemon", listening)
            yield StatsdDaemon(process, udp, mgmt)
        finally:
            stop(process)


def statsd_value(dump: str, name: str) -> Optional[float]:
    """The number after ``'name':`` in the daemon's management output."""
    key = f"'{name}'"
    at = dump.find(key)
    if at < 0:
        return None
    rest = dump[at + len(key):].lstrip(": ")
    end = min([i for i in (rest.find(","), rest.find("\n"), rest.find(" }")) if i >= 0] or [len(rest)])
    return float(rest[:end])


class OtlpReceiver:
    """tests/peers/otlp_receiver.py: keeps every OTLP request it accepts."""

    def __init__(self, process: subprocess.Popen[str], http: int, grpc: int) -> None:
        self.process = process
        self.http = http
        self.grpc = grpc

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http}"

    def received(self, signal_name: Optional[str] = None) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.endpoint}/received", timeout=10) as r:
            got: list[dict[str, Any]] = json.loads(r.read())
        return [g["body"] for g in got if signal_name is None or g["signal"] == signal_name]

    def items(self, signal_name: str) -> list[dict[str, Any]]:
        """Every span (``traces``), log record (``logs``) or metric
        (``metrics``) received, flattened out of their resources and scopes."""
        outer, scope, inner = {
            "traces": ("resourceSpans", "scopeSpans", "spans"),
            "logs": ("resourceLogs", "scopeLogs", "logRecords"),
            "metrics": ("resourceMetrics", "scopeMetrics", "metrics"),
        }[signal_name]
        return [
            item
            for body in self.received(signal_name)
            for resource in body[outer]
            for s in resource[scope]
            for item in s[inner]
        ]

    def wait_for(self, signal_name: str, at_least: int = 1) -> list[dict[str, Any]]:
        """Waits until at least ``at_least`` items of the signal arrived."""

        def enough() -> Optional[list[dict[str, Any]]]:
            found = self.items(signal_name)
            return found if len(found) >= at_least else None

        return wait_until(f"{at_least} {signal_name} items", enough)


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    try:
        import grpc  # noqa: F401
        import opentelemetry.proto  # noqa: F401
    except ImportError:
        missing("opentelemetry-proto and grpcio (PyPI)")
    process = subprocess.Popen(
        [sys.executable, str(PEERS / "otlp_receiver.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        ports = dict(part.split("=") for part in first.split())
        yield OtlpReceiver(process, int(ports["http"]), int(ports["grpc"]))
    finally:
        stop(process)


def run_python(code: str, env: dict[str, str], timeout: float = 60) -> str:
    """Runs ``code`` in a fresh interpreter (this one, same sys.path) with
    ``env`` added; fails the test when it fails. Returns its stdout."""
    full = dict(os.environ)
    full.update(env)
    full["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    done = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"python failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def statsd_until(daemon: StatsdDaemon, command: str, test: Callable[[str], bool]) -> str:
    """Waits until the daemon's ``command`` output passes ``test``; returns it."""

    def probe() -> Optional[str]:
        dump = daemon.mgmt(command)
        return dump if test(dump) else None

    return wait_until(f"the daemon's {command}", probe)
