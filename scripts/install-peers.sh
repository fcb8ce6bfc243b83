#!/usr/bin/env bash
# Installs the real programs the tests talk to: Prometheus and promtool
# (Debian), the Python prometheus_client parser (in ./.venv), and the StatsD
# daemon (npm, in tests/peers/node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null || ! command -v node >/dev/null; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends prometheus nodejs npm >/dev/null
fi

if [ ! -x .venv/bin/python3 ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r tests/peers/requirements.txt

if [ ! -d tests/peers/node_modules/statsd ]; then
  (cd tests/peers && npm install --silent --no-audit --no-fund)
fi
