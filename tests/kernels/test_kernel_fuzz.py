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

import numpy as np
import pytest

from fast_layers.kernel_table import TWINS as twin
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
    assert proc.returncode in (0, 1) and proc.stdout.strip(), (
        f"the fuzz worker died with return code {proc.returncode} during: {last}\n{proc.stderr[-3000:]}"
    )
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not summary["failures"], "\n".join(summary["failures"][:40])
    assert summary["cases"] >= MIN_CASES
    # Every public kernel of the compiled module is fuzzed (its row in fast_layers.kernel_table).
    public = sorted(n for n in dir(compiled) if n.endswith("_cython") and callable(getattr(compiled, n)))
    assert set(public) <= set(summary["kernels"]), (
        f"kernels not fuzzed: {sorted(set(public) - set(summary['kernels']))}")
    assert all(summary["per_kernel"][k] > 50 for k in summary["kernels"]), summary["per_kernel"]
    count_case("invalid kernel cases (x2 implementations)", summary["cases"])
    count_case("kernels fuzzed", len(summary["kernels"]))


def _aliased_calls(module):
    """Kernel calls whose caller-provided output shares memory with the input it reads."""
    N, C, H, W = 2, 3, 4, 5
    calls = {}
    if hasattr(module, "im2col_6d_cython"):
        buf = np.arange(N * C * H * W, dtype=np.float64)
        # 1x1 filter, no padding: x (N, C, H, W) and out (C, 1, 1, N, H, W) have one size.
        calls["im2col_6d_cython(out overlapping x)"] = (
            lambda: module.im2col_6d_cython(buf.reshape(N, C, H, W), 1, 1, 0, 1, out=buf.reshape(C, 1, 1, N, H, W)),
            lambda: module.im2col_6d_cython(np.arange(N * C * H * W, dtype=np.float64).reshape(N, C, H, W), 1, 1, 0, 1))
    if hasattr(module, "col2im_6d_add_cython"):
        buf2 = np.arange(N * C * H * W, dtype=np.float64)

        def clean():
            cols = np.arange(N * C * H * W, dtype=np.float64).reshape(C, 1, 1, N, H, W)
            return module.col2im_6d_add_cython(cols, cols.copy().reshape(N, C, H, W), 0, 1)

        calls["col2im_6d_add_cython(cols overlapping out)"] = (
            lambda: module.col2im_6d_add_cython(buf2.reshape(C, 1, 1, N, H, W), buf2.reshape(N, C, H, W), 0, 1),
            clean)
    return calls


@pytest.mark.parametrize("module", [compiled, twin], ids=["compiled", "numpy"])
def test_kernel_output_overlapping_its_input_raises_or_gives_the_unaliased_result(module):
    # The layers never alias, but a caller of the public kernels can: the typed loops then read
    # what they have just written. Refusing (ValueError) or matching the unaliased result are fine.
    calls = _aliased_calls(module)
    assert calls, "no kernel with a caller-provided output found"
    wrong = []
    for label, (aliased, clean) in calls.items():
        want = clean()
        try:
            got = aliased()
        except (ValueError, TypeError) as exc:
            assert str(exc).strip()
            continue
        if not np.array_equal(got, want):
            wrong.append(label)
    assert not wrong, f"silently different result when the output overlaps the input: {wrong}"
