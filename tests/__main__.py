"""``python -m tests``: run the suite against the installed cnnkit, from outside the source tree.

The suite is copied to a temporary folder and pytest runs there, so no module of the checkout is
importable by accident: a file missing from the wheel or sdist fails the run instead of being
found in the working directory. Tests that read files which are not installed (notebooks,
README, benchmarks) find them through ``CNNKIT_SOURCE_ROOT``, set to this source tree unless it
is already set. Every other argument goes to pytest, e.g. ``python -m tests -m "not slow" -x``;
paths are given as in the source tree (``python -m tests tests/kernels``), and without one the
whole suite runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1]
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    env.setdefault("CNNKIT_SOURCE_ROOT", str(SOURCE))
    env["CNNKIT_TEST_INSTALLED"] = "1"
    with tempfile.TemporaryDirectory(prefix="cnnkit-tests-") as tmp:
        shutil.copytree(SOURCE / "tests", Path(tmp) / "tests", ignore=JUNK)
        ini = ["-c", str(SOURCE / "pyproject.toml"), "--rootdir", tmp]
        paths = [] if any(a == "tests" or a.startswith(("tests/", "tests" + os.sep)) for a in argv) else ["tests"]
        cmd = [sys.executable, "-m", "pytest", *ini, "-p", "no:cacheprovider", *paths, *argv]
        print(f"python -m tests: running the suite from {tmp} against the installed cnnkit", flush=True)
        return subprocess.call(cmd, cwd=tmp, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
