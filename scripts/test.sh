#!/usr/bin/env bash
# Runs every check and every test against the real peers: installs the
# peers, then the gates (fmt, clippy, doc), the PromQL corpus checked
# against promtool, the fuzzers, the loom models,
# Miri, AddressSanitizer, every test under coverage (a missing peer fails
# the test: SONDE_REQUIRE_PEERS=1), the Python package (scripts/python.sh), the doctests, and mutation testing of
# the change. Each step is a script of its own in scripts/.
set -euo pipefail
cd "$(dirname "$0")/.."

step() {
  local started=$SECONDS
  echo "== $1"
  shift
  "$@"
  echo "== done in $((SECONDS - started)) s"
}

export SONDE_REQUIRE_PEERS=1
export SONDE_PYTHON="$PWD/.venv/bin/python3"
step "peers" scripts/install-peers.sh
step "gates" scripts/gates.sh
# The PromQL corpus' expected values are what this Prometheus gives.
step "promql corpus" .venv/bin/python3 scripts/promql-expected.py --check
step "fuzz" scripts/fuzz.sh
step "loom" scripts/loom.sh
step "miri" scripts/miri.sh
step "sanitize" scripts/sanitize.sh
step "tests under coverage" scripts/coverage.sh
step "python" scripts/python.sh
step "doctests" cargo test --workspace --exclude sonde-bench --locked --doc
step "mutants of the change" scripts/mutants.sh
echo "all checks passed in $SECONDS s"
