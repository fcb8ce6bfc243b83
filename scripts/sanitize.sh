#!/usr/bin/env bash
# AddressSanitizer (nightly -Zsanitizer) over the core's stress tests: eight
# threads recording, looking series up, removing and expiring them, so a
# use-after-free in the label index's reclamation or a cell's inflation
# would be reported, not merely survived. Leak detection is off: the
# global tracer provider and interned resources and scopes live for the
# process by design.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component add --toolchain nightly rust-src >/dev/null
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/asan"
RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address" ASAN_OPTIONS="detect_leaks=0" \
  timeout "${SANITIZE_SECONDS:-900}" \
  cargo +nightly test -p sonde --target x86_64-unknown-linux-gnu --test stress --lib -- --test-threads 2
echo "sanitize: AddressSanitizer found nothing in the stress tests"
