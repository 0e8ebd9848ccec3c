"""Time ``cnnkit-check --module`` over the student corpus (tests/data/students), checkouts side by side.

Usage::

    python benchmarks/grader_corpus.py [--rounds 3] [ROOT ...]

Each ROOT is a checkout (default: this one) with its extension built. Every round runs every corpus
case once per ROOT, the ROOTs interleaved case by case, one process at a time; the script prints,
per ROOT, the median over rounds of the summed wall time, the ratio to the first ROOT, and the load
average before and after.
"""

from __future__ import annotations

import argparse
import ast
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
CORPUS = HERE / "tests" / "data" / "students"


def cases():
    """``(cwd, module_arg, extra_args)`` for each corpus file that carries an EXPECT line."""
    out = []
    for path in sorted(CORPUS.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if "EXPECT:" not in doc:
            continue
        run = {}
        for line in doc.splitlines():
            if line.startswith("RUN:"):
                for tok in shlex.split(line[4:]):
                    k, _, v = tok.partition("=")
                    run[k] = v
        cwd = (path.parent / run.get("cwd", ".")).resolve()
        out.append((cwd, run.get("module", str(path)), shlex.split(run.get("args", ""))))
    return out


def run_once(root: Path, cwd: Path, module: str, extra, tmp: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(root))
    cmd = [sys.executable, "-m", "_gradcheck", "--module", module, "--json", str(tmp / "r.json"),
           "--no-progress", *extra]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, timeout=600)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roots", nargs="*", type=Path, default=[HERE])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    todo = cases()
    totals = {r: [] for r in args.roots}
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            sums = dict.fromkeys(args.roots, 0.0)
            for cwd, module, extra in todo:
                for root in args.roots:
                    sums[root] += run_once(root, cwd, module, extra, Path(tmp))
            for root in args.roots:
                totals[root].append(sums[root])
    load1 = os.getloadavg()
    base = statistics.median(totals[args.roots[0]])
    print(f"{len(todo)} corpus runs per round, {args.rounds} rounds; load average {load0[0]:.2f} -> {load1[0]:.2f}")
    for root in args.roots:
        med = statistics.median(totals[root])
        print(f"{str(root):40s} median total {med:7.1f} s  ratio {med / base:5.2f}  "
              f"rounds {', '.join(f'{t:.1f}' for t in totals[root])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
