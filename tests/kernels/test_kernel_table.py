"""fast_layers/kernel_table.py: one row per compiled kernel, and the dispatch exports each row."""

from __future__ import annotations

import inspect
import tracemalloc

import numpy as np
import pytest

from fast_layers import _kernels, _kernels_numpy
from fast_layers.kernel_table import EXAMPLE, KERNELS, TWINS, Example, compiled_module, kernel


def test_every_compiled_kernel_and_every_twin_has_exactly_one_row():
    names = [k.name for k in KERNELS]
    assert len(set(names)) == len(names)
    assert all(callable(k.check) and callable(k.example) and callable(k.budget) for k in KERNELS)
    assert sorted(_kernels_numpy.__all__) == sorted(names)
    compiled = compiled_module()
    if compiled is None:
        pytest.skip("the compiled extension is not built")
    public = sorted(n for n in dir(compiled) if n.endswith("_cython") and callable(getattr(compiled, n)))
    assert public == sorted(k.compiled for k in KERNELS)


@pytest.mark.parametrize("k", KERNELS, ids=lambda k: k.name)
def test_twin_has_the_compiled_signature_and_the_thread_rule_of_its_row(k):
    twin = list(inspect.signature(k.twin).parameters)
    assert ("parallel" in twin) is k.threads
    compiled = compiled_module()
    if compiled is not None:
        assert list(inspect.signature(k.of(compiled)).parameters) == twin


@pytest.mark.parametrize("k", KERNELS, ids=lambda k: k.name)
def test_dispatch_exports_each_row_and_its_example_runs_the_same_on_both(k):
    assert getattr(_kernels, k.name) is k.of(_kernels.kernel_module)
    assert kernel(k.compiled) is kernel(k.name) is k
    assert getattr(TWINS, k.compiled) is k.twin
    compiled = compiled_module()
    args = k.example(np.random.default_rng(0), EXAMPLE)
    want = k.twin(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    if compiled is not None:
        np.testing.assert_allclose(k.of(compiled)(*args), want, rtol=1e-12, atol=1e-12)


def test_an_unknown_kernel_name_is_refused_naming_the_table():
    with pytest.raises(LookupError, match="kernel_table.KERNELS"):
        kernel("im3col")


BUDGET_GEOMETRIES = (
    Example(N=8, C=16, H=32, W=32, HH=3, WW=3, pad=1, stride=1),
    Example(N=4, C=8, H=31, W=29, HH=5, WW=3, pad=2, stride=2),
)
# Bookkeeping of a call (the result's header, a tuple, small index arrays) that no budget counts.
SLACK = 64 << 10


def _peak(fn, args):
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    tracemalloc.start()
    try:
        fn(*copies)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", BUDGET_GEOMETRIES, ids=["3x3-pad1", "5x3-stride2"])
@pytest.mark.parametrize("k", KERNELS, ids=lambda k: k.name)
def test_row_budget_is_what_the_compiled_kernel_allocates_and_bounds_its_twin(k, geometry, dtype):
    args = [a.astype(dtype) if isinstance(a, np.ndarray) else a for a in k.example(np.random.default_rng(1), geometry)]
    budget = k.budget(*args)
    image = geometry.N * geometry.C * geometry.H * geometry.W * np.dtype(dtype).itemsize
    compiled = compiled_module()
    if compiled is not None:
        peak = _peak(k.of(compiled), args)
        assert budget - SLACK <= peak <= budget + SLACK, (k.name, peak, budget)
    # The twins are numpy code with temporaries; they stay within a few outputs plus one image.
    assert _peak(k.twin, args) <= 4 * (budget + image) + SLACK, k.name
