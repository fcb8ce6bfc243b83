#!/usr/bin/env bash
# Mutation testing of the change (cargo mutants --in-diff) over the code
# whose tests must notice a wrong result: the encoders, label handling and
# propagation of the core, the StatsD parser and the exposition checker.
# The diff is against SONDE_MUTANTS_BASE (default: the previous commit);
# the run is bounded by SONDE_MUTANTS_SECONDS (default 900). A missed
# mutant fails the run unless `.cargo/mutants.toml` explains it. The full
# report is docs/mutants.md (`scripts/mutants.sh --all` regenerates it).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked -q
files=(--file 'crates/sonde/src/encode/**' --file 'crates/sonde/src/labels/**'
  --file 'crates/sonde/src/trace/propagation/**' --file 'crates/sonde-statsd/src/parse.rs'
  --file 'crates/sonde-check/src/**')
tests=(--test-package sonde --test-package sonde-prometheus --test-package sonde-statsd
  --test-package sonde-check --test-package sonde-cli)
mkdir -p test-artifacts
if [ "${1:-}" = "--all" ]; then
  cargo mutants --in-place "${files[@]}" "${tests[@]}" -o test-artifacts -- --lib --tests
  exit $?
fi
base="${SONDE_MUTANTS_BASE:-HEAD~1}"
git diff "$base" -- crates > test-artifacts/mutants.diff || true
if ! grep -q '^+' test-artifacts/mutants.diff; then
  echo "mutants: no change to mutate since $base"
  exit 0
fi
set +e
timeout "${SONDE_MUTANTS_SECONDS:-900}" cargo mutants --in-place --in-diff test-artifacts/mutants.diff \
  "${files[@]}" "${tests[@]}" -o test-artifacts -- --lib --tests
status=$?
set -e
case $status in
  0) echo "mutants: every mutant of the change was caught" ;;
  3) echo "mutants: every mutant of the change was caught (some by a test timeout)" ;;
  124) echo "mutants: stopped at the time limit (${SONDE_MUTANTS_SECONDS:-900}s); see test-artifacts/mutants.out" ;;
  *) cat test-artifacts/mutants.out/missed.txt 2>/dev/null; echo "mutants: missed mutants in the change"; exit 1 ;;
esac
