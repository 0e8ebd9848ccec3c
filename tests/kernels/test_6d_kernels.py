"""im2col_6d / col2im_6d_add (the strides layer's kernels): compiled vs numpy twin vs the definition."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import im2col_cython as compiled
from fast_layers.kernel_table import TWINS as twin
from tests.conftest import tol

CONFIGS = [
    # (N, C, H, W), (HH, WW), pad, stride, dilation
    ((2, 3, 5, 5), (3, 3), 1, 1, 1),
    ((2, 2, 7, 6), (3, 2), (0, 1), 2, 1),
    ((1, 2, 6, 7), (2, 3), (1, 0), (2, 1), 1),
    ((2, 2, 8, 9), (3, 2), 2, 3, (2, 1)),
    ((1, 3, 9, 9), (2, 2), (0, 2), (1, 3), 2),
    ((2, 2, 3, 3), (1, 1), 4, 3, 1),  # padding wider than the image: whole rows/columns of zeros
    ((1, 1, 1, 1), (3, 3), (7, 9), (2, 3), (5, 4)),  # one pixel, taps mostly in the padding
]
MODULES = [compiled, twin]


def _ids(c):
    return f"x{c[0]}-k{c[1]}-p{c[2]}-s{c[3]}-d{c[4]}"


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def _out_size(H, W, k, pad, stride, dil):
    (ph, pw), (sh, sw), (dh, dw) = _pair(pad), _pair(stride), _pair(dil)
    return (H + 2 * ph - dh * (k[0] - 1) - 1) // sh + 1, (W + 2 * pw - dw * (k[1] - 1) - 1) // sw + 1


@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("module", MODULES, ids=["compiled", "numpy"])
def test_im2col_6d_matches_the_definition_element_by_element(cfg, dtype, module):
    shape, k, pad, stride, dil = cfg
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    cols = module.im2col_6d_cython(x, k[0], k[1], pad, stride, dil)
    N, C, H, W = shape
    Ho, Wo = _out_size(H, W, k, pad, stride, dil)
    assert cols.dtype == dtype and cols.shape == (C, k[0], k[1], N, Ho, Wo)
    (ph, pw), (sh, sw), (dh, dw) = _pair(pad), _pair(stride), _pair(dil)
    for c, i, j, n, y, xx in itertools.product(range(C), range(k[0]), range(k[1]), range(N), range(Ho), range(Wo)):
        r, q = y * sh + i * dh - ph, xx * sw + j * dw - pw
        expected = x[n, c, r, q] if 0 <= r < H and 0 <= q < W else 0.0
        assert cols[c, i, j, n, y, xx] == expected, (c, i, j, n, y, xx)


@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_6d_fills_a_caller_buffer_completely(cfg, dtype):
    shape, k, pad, stride, dil = cfg
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    ref = twin.im2col_6d_cython(x, k[0], k[1], pad, stride, dil)
    buf = np.full(ref.shape, np.nan, dtype=dtype)  # any element left unwritten stays NaN
    got = compiled.im2col_6d_cython(x, k[0], k[1], pad, stride, dil, out=buf)
    assert got is buf
    np.testing.assert_array_equal(buf, ref)


@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_col2im_6d_add_accumulates_the_adjoint_and_matches_twin(cfg, dtype):
    shape, k, pad, stride, dil = cfg
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    cols_x = compiled.im2col_6d_cython(x, k[0], k[1], pad, stride, dil)
    cols = rng.standard_normal(cols_x.shape).astype(dtype)
    start = rng.standard_normal(shape).astype(dtype)
    results = []
    for module in MODULES:
        out = start.copy()
        assert module.col2im_6d_add_cython(cols, out, pad, stride, dil) is out
        results.append(out)
    np.testing.assert_allclose(results[0], results[1], **tol(dtype))
    added = results[0].astype(np.float64) - start
    # <im2col(x), cols> == <x, col2im(cols)>: the defining property of the adjoint.
    np.testing.assert_allclose(np.vdot(cols_x, cols.astype(np.float64)), np.vdot(x, added), rtol=tol(dtype)["rtol"])
    # And it is the same sum as the allocating kernel, just added on top of `start`.
    N, C, H, W = shape
    fresh = compiled.col2im_6d_cython(cols, N, C, H, W, k[0], k[1], pad, stride, dil)
    np.testing.assert_allclose(added, fresh, **tol(dtype))


def test_col2im_6d_add_hand_worked_overlap_counts():
    # 3x3 image of 10s, 2x2 filter, stride 1, all-ones columns: each pixel gains one per window
    # covering it (corners 1, edges 2, centre 4) on top of its 10.
    out = np.full((1, 1, 3, 3), 10.0)
    compiled.col2im_6d_add_cython(np.ones((1, 2, 2, 1, 2, 2)), out, 0, 1)
    np.testing.assert_array_equal(out[0, 0], [[11, 12, 11], [12, 14, 12], [11, 12, 11]])


@pytest.mark.parametrize("module", MODULES, ids=["compiled", "numpy"])
def test_6d_kernels_refuse_bad_buffers_before_writing(module):
    x = np.zeros((2, 3, 5, 5))
    good = np.zeros((3, 3, 3, 2, 5, 5))
    with pytest.raises(ValueError, match=r"out must have shape \(3, 3, 3, 2, 5, 5\)"):
        module.im2col_6d_cython(x, 3, 3, 1, 1, out=np.zeros((3, 3, 3, 2, 5, 4)))
    with pytest.raises(TypeError, match="out must have dtype float64"):
        module.im2col_6d_cython(x, 3, 3, 1, 1, out=good.astype(np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        module.im2col_6d_cython(x, 3, 3, 1, 1, out=np.zeros((3, 3, 3, 2, 5, 10))[..., ::2])
    frozen = good.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        module.im2col_6d_cython(x, 3, 3, 1, 1, out=frozen)
    with pytest.raises(TypeError, match="out must be a numpy ndarray"):
        module.im2col_6d_cython(x, 3, 3, 1, 1, out=good.tolist())
    target = np.zeros((2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"cols has shape .* needs shape \(3, 3, 3, 2, 5, 5\)"):
        module.col2im_6d_add_cython(np.zeros((3, 3, 3, 2, 5, 4)), target, 1, 1)
    with pytest.raises(TypeError, match="must match"):
        module.col2im_6d_add_cython(good.astype(np.float32), target, 1, 1)
    with pytest.raises(ValueError, match="C-contiguous"):
        module.col2im_6d_add_cython(good, np.zeros((2, 3, 5, 10))[..., ::2], 1, 1)
    with pytest.raises(TypeError, match="float32 or float64"):
        module.col2im_6d_add_cython(good, np.zeros((2, 3, 5, 5), dtype=int), 1, 1)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        module.col2im_6d_add_cython(good, target, 1, 0)
    assert not target.any()
    shared = np.zeros(2 * 3 * 5 * 5)
    with pytest.raises(ValueError, match="overlaps"):
        module.im2col_6d_cython(shared.reshape(2, 3, 5, 5), 1, 1, 0, 1, out=shared.reshape(3, 1, 1, 2, 5, 5))
    with pytest.raises(ValueError, match="overlaps"):
        module.col2im_6d_add_cython(shared.reshape(3, 1, 1, 2, 5, 5), shared.reshape(2, 3, 5, 5), 0, 1)


def test_im2col_6d_does_not_mutate_its_input_and_accepts_non_contiguous():
    x = np.random.default_rng(3).standard_normal((2, 2, 11, 10))[:, :, ::2, ::-1]
    keep = x.copy()
    got = compiled.im2col_6d_cython(x, 3, 2, 1, (2, 1), (1, 2))
    np.testing.assert_array_equal(x, keep)
    np.testing.assert_array_equal(got, twin.im2col_6d_cython(np.ascontiguousarray(x), 3, 2, 1, (2, 1), (1, 2)))


@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_6d_kernels_give_the_same_result_on_one_thread(cfg, dtype):
    shape, k, pad, stride, dil = cfg
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape).astype(dtype)
    serial = compiled.im2col_6d_cython(x, k[0], k[1], pad, stride, dil, parallel=False)
    np.testing.assert_array_equal(serial, compiled.im2col_6d_cython(x, k[0], k[1], pad, stride, dil))
    cols = rng.standard_normal(serial.shape).astype(dtype)
    one, many = np.zeros(shape, dtype), np.zeros(shape, dtype)
    compiled.col2im_6d_add_cython(cols, one, pad, stride, dil, parallel=False)
    compiled.col2im_6d_add_cython(cols, many, pad, stride, dil, parallel=True)
    # Each (n, c) plane is summed by one thread in the same order either way: bit-identical.
    np.testing.assert_array_equal(one, many)
