#!/usr/bin/env bash
# Sonde from Python (crates/sonde-python): `pip install ./crates/sonde-python`
# (maturin is the PEP 517 backend) into a clean venv, where the package and
# its four modules must import and the README's example must run; the same
# into the project's venv, where pytest runs against the real peers;
# `mypy --strict` on a file that uses every module (through the stubs and
# py.typed), and mypy's stubtest comparing the stubs with the extension.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

clean=$root/target/python-clean-venv
rm -rf "$clean"
python3 -m venv "$clean"
"$clean/bin/pip" install -q --disable-pip-version-check ./crates/sonde-python
(cd "$(mktemp -d)" && "$clean/bin/python" - <<'PY'
import sonde, sonde.aggregator, sonde.telemetry, sonde.collector, sonde.collector.collector, sonde.collector.exporter, sonde.specs
assert "site-packages" in sonde.__file__, sonde.__file__
c = sonde.aggregator.create_counter("clean_venv_total", "Imports in a clean venv.")
c.inc()
assert "clean_venv_total 1" in sonde.aggregator.REGISTRY.prometheus_text()
print("python: the wheel imports in a clean venv:", sonde.__file__)
PY
)
# The README's "From Python" example, as written, in that venv.
sed -n '/^## From Python/,/^## [^F]/p' README.md | sed -n '/^```python$/,/^```$/p' | sed '1d;$d' > "$clean/readme_example.py"
grep -q TelemetryCollector "$clean/readme_example.py"
(cd "$(mktemp -d)" && "$clean/bin/python" "$clean/readme_example.py")
echo "python: the README's example runs"

.venv/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps ./crates/sonde-python
(cd crates/sonde-python && "$root/.venv/bin/python" -m pytest -q -p no:cacheprovider tests)
.venv/bin/mypy --strict --no-incremental crates/sonde-python/tests/typecheck/uses_stubs.py
(cd "$(mktemp -d)" && "$root/.venv/bin/python" -m mypy.stubtest sonde._native)
echo "python: pytest, mypy --strict and stubtest passed"
