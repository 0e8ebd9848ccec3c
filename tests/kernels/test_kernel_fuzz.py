"""Invalid arguments into every public kernel, in a subprocess so that a crash fails one test.

``_fuzz_worker.py`` calls each kernel of ``im2col_cython`` and of its numpy twin with hundreds of
invalid argument sets (wrong types, dtypes, ndim and shapes, zero / negative / NaN / huge sizes,
cols that do not match the geometry) and records any call that does not raise ValueError,
TypeError or MemoryError with a message, or where the two implementations disagree on the type.
A segfault or abort kills only the worker; the test then names the case that was running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import count_case

compiled = pytest.importorskip("im2col_cython", reason="the compiled extension is not built")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIN_CASES = 200


def _run_worker(tmp_path, *extra):
    log = tmp_path / "fuzz.log"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.kernels._fuzz_worker", "--log", str(log), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    last = log.read_text().splitlines()[-1] if log.exists() and log.read_text() else "(no case started)"
    return proc, last


def test_fuzz_worker_reports_a_crash_instead_of_dying_silently(tmp_path):
    # The harness itself must be able to fail: a worker that segfaults is seen, with its last case.
    proc, last = _run_worker(tmp_path, "--crash")
    assert proc.returncode != 0
    assert last == "case 0: deliberate crash"


def test_every_kernel_raises_value_or_type_error_on_invalid_arguments(tmp_path):
    proc, last = _run_worker(tmp_path, "--seed", "0", "--random", "150")
    assert proc.returncode == 0, (
        f"the fuzz worker died with return code {proc.returncode} during: {last}\n{proc.stderr[-3000:]}"
    )
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not summary["failures"], "\n".join(summary["failures"][:40])
    assert summary["cases"] >= MIN_CASES
    # Every public kernel of the compiled module is fuzzed (a new kernel must be added to the worker).
    public = sorted(n for n in dir(compiled) if n.endswith("_cython") and callable(getattr(compiled, n)))
    assert set(public) <= set(summary["kernels"]), (
        f"kernels not fuzzed: {sorted(set(public) - set(summary['kernels']))}")
    assert all(summary["per_kernel"][k] > 50 for k in summary["kernels"]), summary["per_kernel"]
    count_case("invalid kernel cases (x2 implementations)", summary["cases"])
    count_case("kernels fuzzed", len(summary["kernels"]))
