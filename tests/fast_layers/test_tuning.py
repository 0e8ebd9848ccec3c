"""fast_layers.tuning: knobs are read at call time, overridable, validated, restored."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import fast_layers.conv as fconv
from fast_layers import tuning


def test_override_sets_and_restores_every_knob():
    before = tuning.current()
    assert set(before) == set(tuning.KNOBS)
    with tuning.override(backward_block_bytes=7, parallel_kernel_bytes=0):
        assert tuning.BACKWARD_BLOCK_BYTES == 7 and tuning.PARALLEL_KERNEL_BYTES == 0
        assert tuning.current()["buffer_cache_bytes"] == before["buffer_cache_bytes"]
    assert tuning.current() == before


def test_override_restores_after_an_exception():
    before = tuning.current()
    with pytest.raises(RuntimeError), tuning.override(backward_block_bytes=1):
        raise RuntimeError("boom")
    assert tuning.current() == before


@pytest.mark.parametrize("kwargs,match", [
    ({"no_such_knob": 1}, "unknown tuning knob 'no_such_knob'"),
    ({"backward_block_bytes": 0}, "backward_block_bytes must be an int >= 1, got 0"),
    ({"parallel_kernel_bytes": -1}, "parallel_kernel_bytes must be an int >= 0, got -1"),
    ({"buffer_cache_min_bytes": 2.5}, "buffer_cache_min_bytes must be an int >= 1, got 2.5"),
    ({"buffer_cache_bytes": True}, "got True"),
])
def test_bad_knob_raises_and_changes_nothing(kwargs, match):
    before = tuning.current()
    with pytest.raises(ValueError, match=match):
        # A valid knob in the same call is not applied either: all are checked before any is set.
        tuning.set(**{"backward_block_bytes": 99, **kwargs})
    assert tuning.current() == before


def test_knobs_are_read_at_call_time(monkeypatch):
    seen = []
    real = fconv.im2col_6d

    def spy(*args, parallel, **kwargs):
        seen.append(parallel)
        return real(*args, parallel=parallel, **kwargs)

    monkeypatch.setattr(fconv, "im2col_6d", spy)
    monkeypatch.setattr(fconv, "HAVE_CYTHON", True)  # the kernel makes x_cols (its numpy twin in a fallback run)
    x, w, b = np.ones((2, 1, 4, 4)), np.ones((1, 1, 3, 3)), np.zeros(1)
    with tuning.override(parallel_kernel_bytes=0):
        fconv.conv_forward_strides(x, w, b, {"stride": 1, "pad": 1})
    fconv.conv_forward_strides(x, w, b, {"stride": 1, "pad": 1})
    assert seen == [True, False]


def test_environment_variable_sets_a_knob_at_import():
    code = "from fast_layers import tuning; print(tuning.BACKWARD_BLOCK_BYTES)"
    env = dict(os.environ, CNNKIT_BACKWARD_BLOCK_BYTES="12345", CNNKIT_DISABLE_CYTHON="1")
    res = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "12345"
    env["CNNKIT_BACKWARD_BLOCK_BYTES"] = "lots"
    res = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=env, capture_output=True, text=True)
    assert res.returncode != 0 and "CNNKIT_BACKWARD_BLOCK_BYTES must be an int, got 'lots'" in res.stderr


def test_serial_and_parallel_kernels_give_identical_results():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 4, 9, 9)), rng.standard_normal((5, 4, 3, 3)), rng.standard_normal(5)
    cp = {"stride": 1, "pad": 1}
    results = []
    for threshold in (0, 1 << 62):
        with tuning.override(parallel_kernel_bytes=threshold):
            out, cache = fconv.conv_forward_strides(x, w, b, cp)
            results.append((out, *fconv.conv_backward_strides(np.ones_like(out), cache)))
    for a, c in zip(*results):
        np.testing.assert_array_equal(a, c)


def _blas_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def test_blas_threads_is_opt_in_and_given_back():
    before = _blas_threads()
    assert tuning.BLAS_THREADS is None  # the default leaves the BLAS alone
    with tuning.override(blas_threads=1):
        assert set(_blas_threads()) == {1}
        with tuning.override(blas_threads=2):
            assert set(_blas_threads()) == {2}
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before and tuning.BLAS_THREADS is None
    with pytest.raises(ValueError, match=r"blas_threads must be an int >= 1 or None, got 0"):
        tuning.set(blas_threads=0)


def test_malloc_keep_bytes_is_opt_in_and_removes_page_faults_on_fresh_buffers():
    # In a subprocess: the knob changes the allocator of the whole process.
    code = (
        "import resource, numpy as np\n"
        "from fast_layers import tuning\n"
        "def faults():\n"
        "    a = np.empty(64 << 20, np.uint8); f0 = resource.getrusage(0).ru_minflt\n"
        "    a.fill(1); return resource.getrusage(0).ru_minflt - f0\n"
        "faults(); default = faults()\n"
        "tuning.set(malloc_keep_bytes=1 << 30); faults(); kept = faults()\n"
        "print(default, kept)\n"
    )
    env = dict(os.environ, CNNKIT_DISABLE_CYTHON="1")
    res = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=env, capture_output=True, text=True)
    if "needs glibc" in res.stderr:
        pytest.skip("not glibc")
    assert res.returncode == 0, res.stderr
    default, kept = map(int, res.stdout.split())
    # 64 MiB fresh: one fault per page (fewer with transparent huge pages); kept warm: next to none.
    assert default > 20 and kept < default // 10, (default, kept)
    assert tuning.MALLOC_KEEP_BYTES is None  # and this process was left alone
