#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input (StatsD datagrams, expositions,
# trace-context headers, PromQL queries as the engine evaluates them) for
# a bounded time each. SONDE_FUZZ_SECONDS sets the time per target
# (default 20; 0 skips). Needs the nightly toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${SONDE_FUZZ_SECONDS:-20}"
if [ "$seconds" -le 0 ]; then
  echo "fuzz: skipped (SONDE_FUZZ_SECONDS=0)"
  exit 0
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: skipped: no nightly toolchain on this machine"
  exit 0
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked -q
mkdir -p test-artifacts
for target in statsd_lines exposition trace_context promql; do
  log="test-artifacts/fuzz-$target.log"
  if cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 >"$log" 2>&1; then
    echo "fuzz: $target ran ${seconds}s without a finding ($(grep -o 'Done [0-9]* runs' "$log" | tail -1))"
  else
    tail -40 "$log"
    echo "fuzz: $target FAILED (see $log and fuzz/artifacts/$target)"
    exit 1
  fi
done
