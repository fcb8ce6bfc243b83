#!/usr/bin/env python3
"""Writes the expected results of the PromQL corpus from Prometheus itself.

For each crates/sonde-promql/tests/corpus/NAME.yml (promtool's rule unit-test
format, with no expected samples), runs `promtool test rules` on it: every
test whose result is not empty fails and promtool prints what it got (labels
and values at full precision) or the evaluation error. Those are written, in
the corpus' order, to NAME.expected.json: a list of
{"expr", "eval_time", "samples": [[labels, value], ...]} or {..., "error"}.

    python3 scripts/promql-expected.py            # regenerate
    python3 scripts/promql-expected.py --check    # fail if Prometheus now differs

Needs promtool (Debian `prometheus`, 2.42) on PATH, and PyYAML or the
project's .venv (scripts/install-peers.sh installs it).
"""
import json
import pathlib
import re
import subprocess
import sys

import yaml

CORPUS = pathlib.Path(__file__).resolve().parent.parent / "crates/sonde-promql/tests/corpus"


def go_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_got(text):
    """`{a="1"} 1E+00, {} NaN` -> [['{a="1"}', '1E+00'], ['{}', 'NaN']]."""
    out = []
    for m in re.finditer(r'(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\}) (\S+?)(?:,|$)', text):
        out.append([m.group(1), m.group(2)])
    return out


def expected_for(path):
    corpus = yaml.safe_load(path.read_text())
    run = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    # One entry per failed test, in order: "expr: "...", time: T," then
    # exp/got lines, or ", err: ..." on the same line.
    blocks = []
    lines = output.splitlines()
    i = 0
    head = re.compile(r'^\s+expr: (".*"), time: (\S+?),(?: err: (.*))?$')
    while i < len(lines):
        m = head.match(lines[i])
        if not m:
            i += 1
            continue
        quoted, time, err = m.groups()
        if err is not None:
            blocks.append((quoted, time, {"error": err}))
            i += 1
            continue
        got = next(l for l in lines[i + 1:i + 3] if l.strip().startswith("got:"))
        text = got.strip()[len("got:"):].strip()
        blocks.append((quoted, time, {"samples": [] if text == "nil" else parse_got(text)}))
        i += 3
    results = []
    b = 0
    for group in corpus["tests"]:
        for t in group.get("promql_expr_test", []):
            entry = {"expr": t["expr"], "eval_time": str(t["eval_time"])}
            if b < len(blocks) and blocks[b][0] == go_quote(t["expr"]) and blocks[b][1] == str(t["eval_time"]):
                entry.update(blocks[b][2])
                b += 1
            else:
                entry["samples"] = []
            results.append(entry)
    if b != len(blocks):
        raise SystemExit(f"{path}: {len(blocks) - b} of promtool's results were not matched to a test:\n{output}")
    return results


def same(want, got):
    """Equal up to what Prometheus 2.42 itself varies between runs: the
    last bits of aggregations over several series (the order it reads them
    in varies), and the order of series named in an error."""
    if len(want) != len(got):
        return False
    for w, g in zip(want, got):
        if w["expr"] != g["expr"] or w["eval_time"] != g["eval_time"] or ("error" in w) != ("error" in g):
            return False
        if "error" in w:
            if w["error"].split(":")[0] != g["error"].split(":")[0]:
                return False
            continue
        if len(w["samples"]) != len(g["samples"]):
            return False
        for (wl, wv), (gl, gv) in zip(sorted(w["samples"]), sorted(g["samples"])):
            a, b = float(wv), float(gv)
            if wl != gl or not (a == b or (a != a and b != b) or abs(a - b) <= 1e-9 * max(abs(a), abs(b))):
                return False
    return True


def main():
    check = "--check" in sys.argv
    failed = False
    for path in sorted(CORPUS.glob("*.yml")):
        target = path.with_suffix(".expected.json")
        results = expected_for(path)
        if check:
            if not target.exists() or not same(json.loads(target.read_text()), results):
                print(f"{target} differs from what Prometheus gives now", file=sys.stderr)
                failed = True
        else:
            target.write_text(json.dumps(results, indent=1) + "\n")
            print(f"wrote {target}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
