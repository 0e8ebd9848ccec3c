"""fast_layers/kernel_table.py: one row per compiled kernel, and the dispatch exports each row."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from fast_layers import _kernels, _kernels_numpy
from fast_layers.kernel_table import EXAMPLE, KERNELS, TWINS, compiled_module, kernel


def test_every_compiled_kernel_and_every_twin_has_exactly_one_row():
    names = [k.name for k in KERNELS]
    assert len(set(names)) == len(names)
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
