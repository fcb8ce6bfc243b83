#!/usr/bin/env bash
# Miri over the unit tests of the core's unsafe modules: the label index
# and its reclamation, the single-writer cells, thread slots, the label
# key encoding, the quantile sketch, the registry's families over them, and
# the global tracer provider, the native histogram cell; and over the StatsD
# client's datagram lock.
# Under Miri the reclamation takes its fenced path (no membarrier) and the
# concurrent tests run fewer rounds.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component add --toolchain nightly miri rust-src >/dev/null
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}"
timeout "${MIRI_SECONDS:-1200}" cargo +nightly miri test -p sonde --lib -- \
  labels::key metrics::sum_cell metrics::bucket_cell metrics::thread_slot metrics::quantile_sketch \
  metrics::histogram metrics::counter metrics::native_cell registry::
# Every global provider ever set is kept for the life of the process (readers
# take no lock or refcount), so the leak check is off for that module alone.
MIRIFLAGS="$MIRIFLAGS -Zmiri-ignore-leaks" timeout "${MIRI_SECONDS:-1200}" \
  cargo +nightly miri test -p sonde --lib -- trace::global
# The StatsD client's datagram lock (its only unsafe code).
timeout "${MIRI_SECONDS:-1200}" cargo +nightly miri test -p sonde-statsd --lib -- spin_lock
echo "miri: no undefined behaviour found"
