#!/usr/bin/env bash
# The gates every change passes: formatting, clippy with warnings denied
# (the workspace lints in Cargo.toml included), and docs built with
# warnings denied.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
echo "gates: fmt, clippy and doc are clean"
