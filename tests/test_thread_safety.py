"""The fast layers and the kernels give the same results when called from several threads at once.

The compiled kernels release the GIL (``with nogil`` / ``prange``), so concurrent calls really
run in parallel; any shared scratch buffer or module-level state would show up here as a
result that differs from the one computed alone. Each callable is run serially on a set of
inputs, then all of them again from a pool of threads released together by a barrier, twice:
each thread on its own input, and every thread on one shared input. Results must be
bit-identical to the serial ones (same arrays, same code path, same summation order).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fast_layers
from fast_layers.kernel_table import KERNELS, TWINS, Example, compiled_module

THREADS = 4
TASKS = 8
CP = {"stride": (1, 2), "pad": 1, "dilation": (2, 1)}
PP = {"pool_height": 3, "pool_width": 2, "stride": (2, 1)}


def _conv_pair(impl):
    fwd = getattr(fast_layers, f"conv_forward_{impl}")
    bwd = getattr(fast_layers, f"conv_backward_{impl}")

    def make(seed):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((6, 4, 20, 18))
        out_shape = fwd(x[:1], np.zeros((8, 4, 3, 3)), np.zeros(8), CP)[0].shape[1:]
        return (x, rng.standard_normal((8, 4, 3, 3)), rng.standard_normal(8),
                rng.standard_normal((6, *out_shape)))

    def compute(x, w, b, dout):
        out, cache = fwd(x, w, b, CP)
        return (out, *bwd(dout, cache))

    return make, compute


def _pool_pair(kind):
    fwd = getattr(fast_layers, f"{kind}_pool_forward_fast")
    bwd = getattr(fast_layers, f"{kind}_pool_backward_fast")

    def make(seed):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((8, 6, 41, 40)).astype(np.float32)
        out_shape = fwd(x[:1], PP)[0].shape[1:]
        return x, rng.standard_normal((8, *out_shape)).astype(np.float32)

    def compute(x, dout):
        out, cache = fwd(x, PP)
        return out, bwd(dout, cache)

    return make, compute


# A per-axis geometry large enough for the parallel loops to split the work.
KERNEL_EXAMPLE = Example(N=4, C=5, H=23, W=21, HH=3, WW=3, pad=(1, 2), stride=(2, 1), dilation=(1, 2))


def _kernel(k, module):
    """One kernel of the table on its example; arrays it writes into are fresh for every call."""
    fn = k.of(module)

    def make(seed):
        args = k.example(np.random.default_rng(seed), KERNEL_EXAMPLE)
        if k.name.endswith("pool_forward") or k.name.endswith("pool_backward"):
            # pools have no pad or dilation: a 3x3 window every (2, 1) pixels over the same images
            args = k.example(np.random.default_rng(seed), Example(4, 5, 23, 21, 3, 3, 0, (2, 1)))
        return tuple(args)

    def compute(*args):
        args = [a.copy() if i in k.writes else a for i, a in enumerate(args)]
        result = fn(*args, parallel=True) if k.threads else fn(*args)
        return (result,) + tuple(args[i] for i in k.writes)

    return make, compute


def _targets():
    targets = {f"conv_{impl}": _conv_pair(impl) for impl in ("im2col", "strides")}
    targets.update({f"{k}_pool_fast": _pool_pair(k) for k in ("max", "avg")})
    compiled = compiled_module()
    for k in KERNELS:
        targets[f"{k.name} numpy"] = _kernel(k, TWINS)
        if compiled is not None:
            targets[f"{k.name} compiled"] = _kernel(k, compiled)
    return targets


TARGETS = _targets()


def _concurrently(compute, inputs):
    barrier = threading.Barrier(THREADS)

    def task(i):
        if i < THREADS:
            barrier.wait()  # the first wave starts together, so the calls overlap
        return compute(*inputs[i])

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(task, range(len(inputs))))


@pytest.mark.parametrize("shared", [False, True], ids=["own-inputs", "shared-input"])
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_concurrent_calls_give_the_serial_results(name, shared):
    make, compute = TARGETS[name]
    # Shared: the very same array objects read by every thread at once.
    inputs = [make(0)] * TASKS if shared else [make(seed) for seed in range(TASKS)]
    serial = [compute(*args) for args in inputs]
    for _ in range(2):
        parallel = _concurrently(compute, inputs)
        for i, (want, got) in enumerate(zip(serial, parallel)):
            for k, (a, b) in enumerate(zip(want, got, strict=True)):
                np.testing.assert_array_equal(b, a, err_msg=f"{name}: task {i}, result {k} differs under threads")
