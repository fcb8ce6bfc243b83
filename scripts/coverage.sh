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
# Test-support crates and the benchmark crate are not product code.
ignore='(sonde-testkit|sonde-bench|/tests/|/examples/|/benches/|fuzz/)'
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
