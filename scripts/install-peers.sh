#!/usr/bin/env bash
# Installs the real programs the tests talk to: Prometheus, promtool, the
# Pushgateway, Alertmanager and VictoriaMetrics (Debian); in ./.venv the Python
# prometheus_client parser, the official OTLP protobuf classes and grpcio
# (for tests/peers/otlp_receiver.py) and the OpenTelemetry Python SDK (the
# reference sender); the StatsD daemon and playwright-core (npm, in
# tests/peers/node_modules); and Debian's Chromium for the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

debs=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || debs+=(prometheus)
command -v prometheus-pushgateway >/dev/null || debs+=(prometheus-pushgateway)
command -v victoria-metrics >/dev/null || debs+=(victoria-metrics)
command -v prometheus-alertmanager >/dev/null || debs+=(prometheus-alertmanager)
# Headless Chromium for the dashboard's browser test (driven by playwright-core).
[ -x /usr/bin/chromium ] || debs+=(chromium)
# openssl makes the certificates of the TLS tests (OTLP export, the hub).
command -v openssl >/dev/null || debs+=(openssl)
# Only when the machine has no Node.js of its own (never replace one).
command -v node >/dev/null && command -v npm >/dev/null || debs+=(nodejs npm)
if [ ${#debs[@]} -gt 0 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python3 ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r tests/peers/requirements.txt

if [ ! -d tests/peers/node_modules/statsd ] || [ ! -d tests/peers/node_modules/playwright-core ]; then
  (cd tests/peers && npm install --silent --no-audit --no-fund)
fi
