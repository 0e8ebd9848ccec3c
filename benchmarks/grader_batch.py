"""Time ``cnnkit-check --submissions`` on generated submissions at several ``--jobs``.

Usage::

    python benchmarks/grader_batch.py [--count 200] [--jobs 1 2]

Generates ``count`` submissions by cycling through the student corpus's buggy and correct files
(tests/data/students), one file per student, then grades the folder once per ``--jobs`` value and
prints the wall time, the time per submission and the load average around each run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
CORPUS = HERE / "tests" / "data" / "students"


def generate(folder: Path, count: int) -> None:
    pool = sorted((CORPUS / "buggy").glob("*.py")) + sorted((CORPUS / "correct").glob("*.py"))
    for k in range(count):
        shutil.copy(pool[k % len(pool)], folder / f"student{k:04d}.py")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)
    env = dict(os.environ, PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "subs"
        subs.mkdir()
        generate(subs, args.count)
        print(f"{args.count} submissions (corpus buggy + correct files, cycled)")
        for jobs in args.jobs:
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "_gradcheck", "--submissions", str(subs), "--jobs", str(jobs),
                                   "--gradebook", str(Path(tmp) / f"grades{jobs}.csv"), "--no-progress"],
                                  cwd=tmp, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            load1 = os.getloadavg()[0]
            graded = proc.stdout.splitlines()[0] if proc.stdout else proc.stderr[-300:]
            print(f"--jobs {jobs}: wall {wall:.1f} s, {wall / args.count:.2f} s per submission; load average "
                  f"{load0:.2f} -> {load1:.2f}; {graded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
