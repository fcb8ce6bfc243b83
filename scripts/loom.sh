#!/usr/bin/env bash
# The loom models of the core's concurrency (crates/sonde/src/models/):
# every interleaving up to LOOM_MAX_PREEMPTIONS (default 3) preemptions,
# within LOOM_SECONDS (default 600) in all.
set -euo pipefail
cd "$(dirname "$0")/.."

export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
# A separate target directory: --cfg loom rebuilds every dependency.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/loom"
RUSTFLAGS="--cfg loom" timeout "${LOOM_SECONDS:-600}" \
  cargo test -p sonde --lib --release --locked models:: -- --test-threads 2
echo "loom: the models passed (preemption bound $LOOM_MAX_PREEMPTIONS)"
