#!/usr/bin/env bash
# Runs every test against the real peers: installs them first, then fails
# any test whose peer is missing (SONDE_REQUIRE_PEERS=1).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-peers.sh
scripts/fuzz.sh

export SONDE_REQUIRE_PEERS=1
export SONDE_PYTHON="$PWD/.venv/bin/python3"
cargo test --workspace --locked --exclude sonde-bench
