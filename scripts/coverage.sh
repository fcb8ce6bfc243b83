#!/usr/bin/env bash
# Every test of the workspace under source-based coverage (cargo llvm-cov;
# subprocesses such as the `sonde` binary are instrumented too), then the
# line and function coverage of the workspace, the ten least-covered files,
# and a failure below SONDE_MIN_LINES percent of lines (default 90).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component add llvm-tools-preview >/dev/null 2>&1
command -v cargo-llvm-cov >/dev/null || cargo install cargo-llvm-cov --locked -q
mkdir -p test-artifacts
cargo llvm-cov clean --workspace >/dev/null 2>&1 || true
# The tests themselves (doctests run separately: coverage of doctests needs nightly).
cargo llvm-cov --workspace --exclude sonde-bench --locked --no-report
# Test-support crates and the benchmark crate are not product code; the
# Python bindings are measured from Python below.
ignore='(sonde-testkit|sonde-bench|sonde-python|/tests/|/examples/|/benches/|fuzz/)'
cargo llvm-cov report --ignore-filename-regex "$ignore" --json --summary-only --output-path test-artifacts/coverage.json
python3 - "${SONDE_MIN_LINES:-90}" <<'PY'
import json, sys
data = json.load(open("test-artifacts/coverage.json"))["data"][0]
total = data["totals"]
lines, funcs = total["lines"]["percent"], total["functions"]["percent"]
print(f"coverage: {lines:.1f} % of lines ({total['lines']['covered']}/{total['lines']['count']}), "
      f"{funcs:.1f} % of functions")
files = sorted((f["summary"]["lines"]["percent"], f["summary"]["lines"]["count"], f["filename"]) for f in data["files"])
print("coverage: the ten least-covered files (lines):")
root = __import__("os").getcwd() + "/"
for pct, count, name in files[:10]:
    print(f"  {pct:5.1f} % of {count:5d}  {name.replace(root, '')}")
minimum = float(sys.argv[1])
if lines < minimum:
    sys.exit(f"coverage: {lines:.1f} % of lines is below the {minimum:.0f} % gate")
PY

# The Python bindings (crates/sonde-python) are exercised from Python:
# pytest runs against the extension built with coverage instrumentation
# (cargo llvm-cov show-env, in a target directory of its own), and their
# lines are reported and gated on their own (SONDE_MIN_PYTHON_LINES,
# default 85).
(
  export CARGO_TARGET_DIR="$PWD/target/python-coverage"
  eval "$(cargo llvm-cov show-env --sh 2>/dev/null)"
  cargo llvm-cov clean --workspace >/dev/null 2>&1 || true
  cargo build -p sonde-python --locked
  package="$CARGO_TARGET_DIR/python"
  rm -rf "$package" && mkdir -p "$package"
  cp -r crates/sonde-python/python/sonde "$package/"
  cp "$CARGO_TARGET_DIR/debug/lib_native.so" "$package/sonde/_native.abi3.so"
  PYTHONPATH="$package" .venv/bin/python -c "import sonde, sys; sys.exit(0 if sonde.__file__.startswith('$package') else 'not the instrumented build: ' + sonde.__file__)"
  (cd crates/sonde-python && PYTHONPATH="$package" ../../.venv/bin/python -m pytest -q -p no:cacheprovider tests)
  cargo llvm-cov report --json --summary-only --output-path test-artifacts/coverage-python.json
)
python3 - "${SONDE_MIN_PYTHON_LINES:-85}" <<'PY'
import json, sys
files = [f for f in json.load(open("test-artifacts/coverage-python.json"))["data"][0]["files"]
         if "crates/sonde-python/src/" in f["filename"]]
covered = sum(f["summary"]["lines"]["covered"] for f in files)
count = sum(f["summary"]["lines"]["count"] for f in files)
pct = 100.0 * covered / max(count, 1)
print(f"coverage: the Python bindings (from pytest): {pct:.1f} % of lines ({covered}/{count})")
if not files or pct < float(sys.argv[1]):
    sys.exit(f"coverage: the Python bindings' {pct:.1f} % of lines is below the {sys.argv[1]} % gate")
PY
