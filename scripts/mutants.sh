#!/usr/bin/env bash
# Mutation testing (cargo-mutants) of the code whose tests must notice a
# wrong result: the core's encoders, label handling, propagation and
# tracestate; the StatsD parser and line format; the exposition checker.
# Each group of files is mutated against the tests of the crates that
# exercise it (so one mutant does not rebuild and run the whole workspace).
#
#   scripts/mutants.sh          the mutants of the change against
#                               SONDE_MUTANTS_BASE (default: the previous
#                               commit), bounded by SONDE_MUTANTS_SECONDS
#                               (default 900) in all; a missed mutant fails
#   scripts/mutants.sh --all    every mutant, for the report in
#                               docs/mutants.md (outputs in test-artifacts/)
#
# `.cargo/mutants.toml` lists the mutants that cannot change behaviour.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked -q
mkdir -p test-artifacts

# name | files (space-separated globs) | test packages
groups=(
  "core|crates/sonde/src/encode/** crates/sonde/src/labels/** crates/sonde/src/trace/propagation/** crates/sonde/src/trace/trace_state.rs crates/sonde/src/ingest.rs|sonde sonde-prometheus"
  "statsd|crates/sonde-statsd/src/parse/** crates/sonde-statsd/src/line.rs|sonde-statsd"
  "check|crates/sonde-check/src/**|sonde-check"
)

all=false
if [ "${1:-}" = "--all" ]; then
  all=true
else
  base="${SONDE_MUTANTS_BASE:-HEAD~1}"
  git diff "$base" -- crates > test-artifacts/mutants.diff || true
  if ! grep -q '^+' test-artifacts/mutants.diff; then
    echo "mutants: no change to mutate since $base"
    exit 0
  fi
fi

deadline=$((SECONDS + ${SONDE_MUTANTS_SECONDS:-900}))
failed=0
for group in "${groups[@]}"; do
  IFS='|' read -r name files packages <<<"$group"
  args=(--in-place -o "test-artifacts/mutants-$name")
  for f in $files; do args+=(--file "$f"); done
  for p in $packages; do args+=(--test-package "$p"); done
  set +e
  if $all; then
    cargo mutants "${args[@]}" -- --lib --tests
  else
    left=$((deadline - SECONDS))
    if [ "$left" -le 0 ]; then
      echo "mutants: time limit reached before group $name"
      break
    fi
    timeout "$left" cargo mutants --in-diff test-artifacts/mutants.diff "${args[@]}" -- --lib --tests
  fi
  status=$?
  set -e
  case $status in
    0) echo "mutants[$name]: every mutant caught (or none in the change)" ;;
    3) echo "mutants[$name]: every mutant caught, some by a test timeout" ;;
    124) echo "mutants[$name]: stopped at the time limit; see test-artifacts/mutants-$name" ;;
    *)
      cat "test-artifacts/mutants-$name/mutants.out/missed.txt" 2>/dev/null
      echo "mutants[$name]: missed mutants"
      failed=1
      ;;
  esac
done
exit $failed
