"""Property tests for the public kernels of im2col_cython against their numpy twins.

For random valid geometries, dtypes and memory layouts:
- ``im2col_cython`` equals the twin exactly (it only copies values);
- ``col2im_cython`` and ``col2im_6d_cython`` equal their twins at the dtype's tolerance (they sum);
- col2im is the adjoint of im2col: ``<im2col(x), c> == <x, col2im(c)>`` for any x and c, and
  likewise for the 6-D layout used by the strides convolution.

These run in every .ci/run pass, including the one against a bounds-checked build, so an
out-of-bounds access on any drawn geometry fails loudly there.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fast_layers.kernel_table import TWINS as twin
from tests._strategies import arrange, conv_configs, float_dtypes, layouts, seeds
from tests.conftest import assert_close, count_case, max_examples

compiled = pytest.importorskip("im2col_cython", reason="the compiled extension is not built")

kernel_cases = st.tuples(conv_configs(max_n=3, max_c=3, max_k=4, max_stride=3, max_pad=3),
                         float_dtypes, layouts(), seeds)


def _geometry_args(cfg):
    # The kernels take pairs; the drawn conv_param spells them as ints, tuples, lists or arrays.
    cp = cfg["conv_param"]
    return cp["pad"], cp["stride"], cp.get("dilation", 1)


def _cols_6d(cfg):
    return (cfg["C"], cfg["HH"], cfg["WW"], cfg["N"], cfg["H_out"], cfg["W_out"])


def _cols_2d(cfg):
    return (cfg["C"] * cfg["HH"] * cfg["WW"], cfg["H_out"] * cfg["W_out"] * cfg["N"])


@settings(max_examples=max_examples(120))
@given(case=kernel_cases)
def test_im2col_cython_equals_numpy_twin_exactly(case):
    cfg, dtype, layout, seed = case
    rng = np.random.default_rng(seed)
    x = arrange(rng.standard_normal((cfg["N"], cfg["C"], cfg["H"], cfg["W"])).astype(dtype), layout, seed)
    pad, stride, dil = _geometry_args(cfg)
    got = compiled.im2col_cython(x, cfg["HH"], cfg["WW"], pad, stride, dil)
    want = twin.im2col_cython(np.array(x, order="C"), cfg["HH"], cfg["WW"], pad, stride, dil)
    assert got.dtype == dtype and got.shape == _cols_2d(cfg)
    np.testing.assert_array_equal(got, want)
    count_case("valid hypothesis examples")


@settings(max_examples=max_examples(120))
@given(case=kernel_cases)
def test_col2im_cython_equals_numpy_twin(case):
    cfg, dtype, layout, seed = case
    rng = np.random.default_rng(seed)
    cols = arrange(rng.standard_normal(_cols_2d(cfg)).astype(dtype), layout, seed)
    pad, stride, dil = _geometry_args(cfg)
    args = (cfg["N"], cfg["C"], cfg["H"], cfg["W"], cfg["HH"], cfg["WW"], pad, stride, dil)
    got = compiled.col2im_cython(cols, *args)
    want = twin.col2im_cython(np.array(cols, order="C"), *args)
    assert got.dtype == dtype and got.shape == (cfg["N"], cfg["C"], cfg["H"], cfg["W"])
    assert_close(got, want, dtype, scale=cfg["HH"] * cfg["WW"])
    count_case("valid hypothesis examples")


@settings(max_examples=max_examples(120))
@given(case=kernel_cases)
def test_col2im_6d_cython_equals_numpy_twin(case):
    cfg, dtype, layout, seed = case
    rng = np.random.default_rng(seed)
    cols = arrange(rng.standard_normal(_cols_6d(cfg)).astype(dtype), layout, seed)
    pad, stride, dil = _geometry_args(cfg)
    args = (cfg["N"], cfg["C"], cfg["H"], cfg["W"], cfg["HH"], cfg["WW"], pad, stride, dil)
    got = compiled.col2im_6d_cython(cols, *args)
    want = twin.col2im_6d_cython(np.array(cols, order="C"), *args)
    assert got.dtype == dtype and got.shape == (cfg["N"], cfg["C"], cfg["H"], cfg["W"])
    assert_close(got, want, dtype, scale=cfg["HH"] * cfg["WW"])
    count_case("valid hypothesis examples")


@pytest.mark.parametrize("module", [compiled, twin], ids=["compiled", "numpy"])
@settings(max_examples=max_examples(60))
@given(cfg=conv_configs(), seed=seeds)
def test_col2im_is_the_adjoint_of_im2col(module, cfg, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((cfg["N"], cfg["C"], cfg["H"], cfg["W"]))
    pad, stride, dil = _geometry_args(cfg)
    sizes = (cfg["N"], cfg["C"], cfg["H"], cfg["W"], cfg["HH"], cfg["WW"])
    cols = module.im2col_cython(x, cfg["HH"], cfg["WW"], pad, stride, dil)
    c = rng.standard_normal(cols.shape)
    lhs = np.vdot(cols, c)
    rhs = np.vdot(x, module.col2im_cython(c, *sizes, pad, stride, dil))
    # Same products summed in another order: agreement to float64 rounding of |terms|.
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-10 * np.sum(np.abs(cols * c)))
    # The 6-D layout of the strides convolution: im2col's rows (c, i, j), columns (y, x, n) -> (n, y, x).
    unfold6 = cols.reshape(cfg["C"], cfg["HH"], cfg["WW"], cfg["H_out"], cfg["W_out"], cfg["N"])
    unfold6 = unfold6.transpose(0, 1, 2, 5, 3, 4)
    c6 = rng.standard_normal(unfold6.shape)
    lhs6 = np.vdot(unfold6, c6)
    rhs6 = np.vdot(x, module.col2im_6d_cython(c6, *sizes, pad, stride, dil))
    np.testing.assert_allclose(lhs6, rhs6, rtol=1e-10, atol=1e-10 * np.sum(np.abs(unfold6 * c6)))
    count_case("valid hypothesis examples")


def _parallel_kw(fn, parallel):
    """``parallel=`` for kernels that take it (one thread or the OpenMP team), else nothing."""
    import inspect

    return {"parallel": parallel} if "parallel" in inspect.signature(fn).parameters else {}


@settings(max_examples=max_examples(80))
@given(case=kernel_cases, give_out=st.booleans(), parallel=st.booleans())
def test_im2col_6d_cython_equals_twin_and_the_im2col_layout(case, give_out, parallel):
    cfg, dtype, layout, seed = case
    rng = np.random.default_rng(seed)
    x = arrange(rng.standard_normal((cfg["N"], cfg["C"], cfg["H"], cfg["W"])).astype(dtype), layout, seed)
    pad, stride, dil = _geometry_args(cfg)
    out = np.full(_cols_6d(cfg), np.nan, dtype=dtype) if give_out else None
    got = compiled.im2col_6d_cython(x, cfg["HH"], cfg["WW"], pad, stride, dil, out=out,
                                    **_parallel_kw(compiled.im2col_6d_cython, parallel))
    if give_out:
        assert got is out  # filled in place, every element written (no NaN left)
    want = twin.im2col_6d_cython(np.array(x, order="C"), cfg["HH"], cfg["WW"], pad, stride, dil)
    assert got.dtype == dtype and got.shape == _cols_6d(cfg)
    np.testing.assert_array_equal(got, want)
    # Same windows as im2col: columns (y, x, n) there, (n, y, x) here.
    cols = twin.im2col_cython(np.array(x, order="C"), cfg["HH"], cfg["WW"], pad, stride, dil)
    np.testing.assert_array_equal(
        got, cols.reshape(cfg["C"], cfg["HH"], cfg["WW"], cfg["H_out"], cfg["W_out"], cfg["N"])
        .transpose(0, 1, 2, 5, 3, 4))
    count_case("valid hypothesis examples")


@settings(max_examples=max_examples(80))
@given(case=kernel_cases, parallel=st.booleans())
def test_col2im_6d_add_cython_adds_col2im_6d_into_out(case, parallel):
    cfg, dtype, layout, seed = case
    rng = np.random.default_rng(seed)
    cols = arrange(rng.standard_normal(_cols_6d(cfg)).astype(dtype), layout, seed)
    pad, stride, dil = _geometry_args(cfg)
    start = rng.standard_normal((cfg["N"], cfg["C"], cfg["H"], cfg["W"])).astype(dtype)
    out = start.copy()
    got = compiled.col2im_6d_add_cython(cols, out, pad, stride, dil,
                                        **_parallel_kw(compiled.col2im_6d_add_cython, parallel))
    assert got is out
    out_twin = twin.col2im_6d_add_cython(np.array(cols, order="C"), start.copy(), pad, stride, dil)
    assert_close(out, out_twin, dtype, scale=cfg["HH"] * cfg["WW"])
    sizes = (cfg["N"], cfg["C"], cfg["H"], cfg["W"], cfg["HH"], cfg["WW"])
    want = start + twin.col2im_6d_cython(np.array(cols, order="C"), *sizes, pad, stride, dil)
    assert_close(out, want, dtype, scale=cfg["HH"] * cfg["WW"])
    count_case("valid hypothesis examples")
