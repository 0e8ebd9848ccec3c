"""Fast convolutions (im2col, strides, fast) against the naive reference, gradients, purity, errors."""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

import fast_layers
from gradient_check import eval_numerical_gradient_array, rel_error
from layers import conv_backward_naive, conv_forward_naive
from tests.conftest import assert_close, assert_unchanged, snapshot

FAST = {
    "im2col": (fast_layers.conv_forward_im2col, fast_layers.conv_backward_im2col),
    "strides": (fast_layers.conv_forward_strides, fast_layers.conv_backward_strides),
    "fast": (fast_layers.conv_forward_fast, fast_layers.conv_backward_fast),
}

# (input H, W), (filter HH, WW): square and not, 1x1, 3x2, and a filter as large as the input.
SHAPES = [((5, 5), (3, 3)), ((7, 6), (3, 2)), ((6, 7), (2, 3)), ((5, 4), (1, 1)), ((4, 5), (4, 5))]
STRIDES = [1, 2, 3, (1, 2), (3, 1)]
PADS = [0, 1, 2, (2, 0), (0, 1)]
DILATIONS = [1, 2, (2, 1)]


def _grid():
    cases = []
    for (hw, k), stride, pad, dil in itertools.product(SHAPES, STRIDES, PADS, DILATIONS):
        H, W = hw
        HH, WW = k
        s = stride if isinstance(stride, tuple) else (stride, stride)
        p = pad if isinstance(pad, tuple) else (pad, pad)
        d = dil if isinstance(dil, tuple) else (dil, dil)
        if H + 2 * p[0] < d[0] * (HH - 1) + 1 or W + 2 * p[1] < d[1] * (WW - 1) + 1:
            continue  # no valid output; the error path is tested separately
        cases.append(((H, W), (HH, WW), stride, pad, dil))
    return cases


GRID = _grid()


def _inputs(rng, hw, k, dtype, F=3, N=2, C=2):
    x = rng.standard_normal((N, C) + hw).astype(dtype)
    w = rng.standard_normal((F, C) + k).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    return x, w, b


def test_grid_is_large_and_covers_the_edge_cases():
    assert len(GRID) > 250
    assert any(k == (3, 2) for _, k, *_ in GRID) and any(hw == k for hw, k, *_ in GRID)


@pytest.mark.parametrize("hw,k,stride,pad,dil", GRID)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_conv_matches_naive_over_grid(hw, k, stride, pad, dil, dtype):
    rng = np.random.default_rng(zlib.crc32(repr((hw, k, stride, pad, dil)).encode()))
    x, w, b = _inputs(rng, hw, k, dtype)
    cp = {"stride": stride, "pad": pad, "dilation": dil}
    ref_out, ref_cache = conv_forward_naive(x, w, b, cp)
    dout = rng.standard_normal(ref_out.shape).astype(dtype)
    ref_grads = conv_backward_naive(dout, ref_cache)
    for name, (fwd, bwd) in FAST.items():
        out, cache = fwd(x, w, b, cp)
        assert out.dtype == dtype and out.shape == ref_out.shape, name
        assert_close(out, ref_out, dtype, scale=10, err_msg=f"{name} forward")
        for gname, g, ref in zip("dx dw db".split(), bwd(dout, cache), ref_grads):
            assert g.dtype == dtype, f"{name} {gname} dtype {g.dtype}"
            assert_close(g, ref, dtype, scale=10, err_msg=f"{name} {gname}")


@pytest.mark.parametrize("layout", ["fortran", "sliced", "negative_strides", "transposed"])
@pytest.mark.parametrize("name", list(FAST))
def test_fast_conv_accepts_non_contiguous_inputs(layout, name):
    rng = np.random.default_rng(3)
    big = rng.standard_normal((4, 4, 11, 10))
    if layout == "fortran":
        x = np.asfortranarray(big[:2, :2, :7, :6])
    elif layout == "sliced":
        x = big[::2, 1::2, ::2, 1:7]
    elif layout == "negative_strides":
        x = big[:2, :2, ::-1, ::-2]
    else:
        x = big[:2, :2, :6, :7].transpose(0, 1, 3, 2)
    assert not x.flags.c_contiguous
    w = rng.standard_normal((3, 2, 3, 2))[:, :, ::-1, :]
    b = rng.standard_normal(6)[::2]
    cp = {"stride": (2, 1), "pad": 1, "dilation": (1, 2)}
    ref_out, ref_cache = conv_forward_naive(x, w, b, cp)
    dout = np.asfortranarray(rng.standard_normal(ref_out.shape))
    fwd, bwd = FAST[name]
    out, cache = fwd(x, w, b, cp)
    assert_close(out, ref_out, np.float64)
    for g, ref in zip(bwd(dout, cache), conv_backward_naive(dout, ref_cache)):
        assert_close(g, ref, np.float64)


@pytest.mark.parametrize("name", list(FAST))
@pytest.mark.parametrize(
    "cp",
    [{"stride": 2, "pad": 1}, {"stride": (1, 2), "pad": (0, 2), "dilation": (2, 1)}, {"stride": 1, "pad": 0}],
)
def test_fast_conv_backward_matches_numeric_gradient(name, cp):
    rng = np.random.default_rng(7)
    x, w, b = _inputs(rng, (6, 7), (3, 2), np.float64)
    fwd, bwd = FAST[name]
    out, cache = fwd(x, w, b, cp)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = bwd(dout, cache)
    # Linear in each argument: a 1e-3 step has no truncation error and little rounding noise.
    h = 1e-3
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: fwd(v, w, b, cp)[0], x, dout, h)) < 1e-8
    assert rel_error(dw, eval_numerical_gradient_array(lambda v: fwd(x, v, b, cp)[0], w, dout, h)) < 1e-8
    assert rel_error(db, eval_numerical_gradient_array(lambda v: fwd(x, w, v, cp)[0], b, dout, h)) < 1e-8


def test_notebook_case_fast_matches_naive():
    # The classic coursework case: x(100,3,31,31), w(25,3,3,3), stride 2, pad 1 (smaller N here).
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 3, 31, 31))
    w = rng.standard_normal((25, 3, 3, 3))
    b = rng.standard_normal(25)
    cp = {"stride": 2, "pad": 1}
    ref_out, ref_cache = conv_forward_naive(x, w, b, cp)
    dout = rng.standard_normal(ref_out.shape)
    ref = conv_backward_naive(dout, ref_cache)
    for name, (fwd, bwd) in FAST.items():
        out, cache = fwd(x, w, b, cp)
        assert_close(out, ref_out, err_msg=name)
        for g, r in zip(bwd(dout, cache), ref):
            assert_close(g, r, err_msg=name)


def test_int_bias_with_float64_images_as_in_the_edge_detection_demo():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6))
    w = np.zeros((2, 3, 3, 3))
    w[0, 0, 1, 1] = 1.0
    b = np.array([128, 0])
    for name, (fwd, _) in FAST.items():
        out, _ = fwd(x, w, b, {"stride": 1, "pad": 1})
        assert out.dtype == np.float64, name
        np.testing.assert_allclose(out[:, 0], x[:, 0] + 128, rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("name", list(FAST))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_conv_does_not_mutate_inputs_dout_or_cache(name, dtype):
    rng = np.random.default_rng(5)
    x, w, b = _inputs(rng, (6, 5), (3, 3), dtype)
    cp = {"stride": 1, "pad": 1}
    args = (x, w, b, cp)
    before = snapshot(args)
    fwd, bwd = FAST[name]
    out, cache = fwd(*args)
    assert_unchanged(before, args, f"{name} forward argument")
    dout = rng.standard_normal(out.shape).astype(dtype)
    before_cache, before_dout = snapshot(cache), snapshot(dout)
    grads1 = bwd(dout, cache)
    grads2 = bwd(dout, cache)
    assert_unchanged(before_cache, cache, f"{name} cache")
    assert_unchanged(before_dout, dout, f"{name} dout")
    for g1, g2 in zip(grads1, grads2):
        np.testing.assert_array_equal(g1, g2)


@pytest.mark.parametrize("name", list(FAST))
def test_fast_conv_cache_is_the_documented_tuple(name):
    rng = np.random.default_rng(0)
    x, w, b = _inputs(rng, (5, 5), (3, 3), np.float64)
    cp = {"stride": 1, "pad": 1}
    _, cache = FAST[name][0](x, w, b, cp)
    assert len(cache) == 5
    assert cache[0] is x and cache[1] is w and cache[2] is b
    # A copy of conv_param, so changing the caller's dict later cannot change the gradient.
    assert cache[3] == cp and cache[3] is not cp
    assert cache[4].shape == (2 * 3 * 3, 2 * 5 * 5)


@pytest.mark.parametrize("name", list(FAST))
def test_fast_conv_backward_rejects_wrong_dout_shape_and_foreign_cache(name):
    rng = np.random.default_rng(0)
    x, w, b = _inputs(rng, (5, 5), (3, 3), np.float64)
    fwd, bwd = FAST[name]
    out, cache = fwd(x, w, b, {"stride": 1, "pad": 1})
    with pytest.raises(ValueError, match=r"dout has shape \(2, 3, 5, 4\).*\(2, 3, 5, 5\)"):
        bwd(np.zeros((2, 3, 5, 4)), cache)
    _, naive_cache = conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})
    with pytest.raises(TypeError, match="5-tuple"):
        bwd(np.zeros(out.shape), naive_cache)
    with pytest.raises(TypeError, match="ndarray"):
        bwd(out.tolist(), cache)
