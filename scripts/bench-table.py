#!/usr/bin/env python3
"""Prints the median of every criterion benchmark under target/criterion as a
markdown table: group, benchmark, median, and the ratio to Sonde in the group."""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
rows = {}
for est in sorted(root.glob("**/new/estimates.json")):
    bench = json.loads((est.parent / "benchmark.json").read_text())
    median_ns = json.loads(est.read_text())["median"]["point_estimate"]
    rows.setdefault(bench["group_id"], []).append((bench["function_id"] or bench.get("value_str") or "", median_ns))


def fmt(ns):
    return f"{ns / 1e6:.2f} ms" if ns >= 1e5 else f"{ns:.2f} ns"


print("| group | benchmark | median | vs sonde |")
print("| --- | --- | --- | --- |")
for group, benches in rows.items():
    base = next((ns for name, ns in benches if name == "sonde" or name.startswith("sonde/")), None)
    for name, ns in benches:
        ratio = f"{ns / base:.2f}x" if base else ""
        print(f"| {group} | {name} | {fmt(ns)} | {ratio} |")
