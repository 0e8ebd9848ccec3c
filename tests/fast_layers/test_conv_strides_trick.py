"""The strides layer is the strides trick: the compiled kernel makes exactly the as_strided copy.

``conv_forward_strides`` builds an ``as_strided`` window view of the padded input and copies it
into ``x_cols``; with the extension built, the ``im2col_6d`` kernel makes that copy. Here the
view is rebuilt from its definition and both copies are compared with it bit for bit, and the
layer's output and gradients are compared with the few lines of numpy in the module docstring.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

import fast_layers.conv as fconv
from _rules.geometry import conv_geometry
from fast_layers.kernel_table import TWINS
from tests.conftest import assert_close

try:
    import im2col_cython
except ImportError:  # the fallback CI pass has no compiled kernels; the twin is still checked
    im2col_cython = None

# x shape, w shape, conv_param: square and not, stride/pad/dilation per axis, pad wider than x.
GEOMETRIES = [
    ((2, 3, 7, 7), (4, 3, 3, 3), {"stride": 1, "pad": 1}),
    ((3, 2, 9, 8), (2, 2, 3, 2), {"stride": (2, 1), "pad": (1, 0), "dilation": (1, 2)}),
    ((1, 4, 6, 11), (3, 4, 2, 5), {"stride": 3, "pad": 2}),
    ((2, 1, 3, 3), (1, 1, 1, 1), {"stride": 2, "pad": 3}),
    ((4, 2, 10, 10), (5, 2, 3, 3), {"stride": 2, "pad": (0, 2), "dilation": 2}),
]
LAYOUTS = ["contiguous", "fortran", "sliced", "negative_strides"]
KERNELS = [pytest.param(im2col_cython, id="compiled",
                        marks=pytest.mark.skipif(im2col_cython is None, reason="extension not built")),
           pytest.param(TWINS, id="numpy")]


def x_cols_by_strides(x, geom):
    """The definition: the contiguous copy of every window of the zero-padded x, as (K, N*P)."""
    ph, pw = geom.pad
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    sN, sC, sH, sW = xp.strides
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    windows = as_strided(xp, shape=(geom.C, geom.HH, geom.WW, geom.N, geom.H_out, geom.W_out),
                         strides=(sC, dh * sH, dw * sW, sN, sh * sH, sw * sW))
    return np.ascontiguousarray(windows).reshape(geom.cols_shape)


def _layout(x, layout):
    if layout == "fortran":
        return np.asfortranarray(x)
    if layout == "sliced":
        big = np.zeros((x.shape[0] * 2, x.shape[1], x.shape[2], x.shape[3] * 2), dtype=x.dtype)
        big[::2, :, :, 1::2] = x
        return big[::2, :, :, 1::2]
    if layout == "negative_strides":
        return np.ascontiguousarray(x[:, :, ::-1, ::-1])[:, :, ::-1, ::-1]
    return x


@pytest.mark.parametrize("compiled", [pytest.param(True, marks=pytest.mark.skipif(
    im2col_cython is None, reason="extension not built")), False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,cp", GEOMETRIES)
def test_both_copies_of_the_window_view_are_exactly_the_as_strided_copy(xs, ws, cp, dtype, layout, compiled,
                                                                         monkeypatch):
    x = _layout(np.random.default_rng(1).standard_normal(xs).astype(dtype), layout)
    # -0.0, inf and NaN must survive the copy bit for bit as well.
    x[0, 0, 0, :3] = [-0.0, np.inf, np.nan][: x.shape[3]]
    w, b = np.ones(ws, dtype), np.ones(ws[0], dtype)
    want = x_cols_by_strides(x, conv_geometry(x.shape, ws, cp))
    monkeypatch.setattr(fconv, "HAVE_CYTHON", compiled)
    if compiled:
        monkeypatch.setattr(fconv, "im2col_6d", im2col_cython.im2col_6d_cython)
    got = fconv.conv_forward_strides(x, w, b, cp)[1][4]
    assert got.dtype == want.dtype == dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,cp", GEOMETRIES)
def test_im2col_6d_kernel_from_unpadded_x_makes_the_same_copy(xs, ws, cp, dtype, kernels):
    x = np.random.default_rng(4).standard_normal(xs).astype(dtype)
    geom = conv_geometry(xs, ws, cp)
    got = kernels.im2col_6d_cython(x, geom.HH, geom.WW, geom.pad, geom.stride, geom.dilation)
    assert got.tobytes() == x_cols_by_strides(x, geom).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,cp", GEOMETRIES)
def test_strides_layer_cache_holds_the_as_strided_x_cols(xs, ws, cp, dtype):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype), np.ones(ws[0], dtype)
    _, cache = fconv.conv_forward_strides(x, w, b, cp)
    assert cache[4].tobytes() == x_cols_by_strides(x, conv_geometry(xs, ws, cp)).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,cp", GEOMETRIES)
def test_strides_layer_computes_the_module_docstring_definition(xs, ws, cp, dtype):
    rng = np.random.default_rng(3)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (xs, ws, ws[:1]))
    geom = conv_geometry(xs, ws, cp)
    N, F, Ho, Wo = geom.out_shape
    # Forward, as written in the module docstring.
    x_cols = x_cols_by_strides(x, geom)
    want = (w.reshape(F, -1) @ x_cols + b[:, None]).reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)
    out, cache = fconv.conv_forward_strides(x, w, b, cp)
    assert_close(out, want, dtype)
    # Backward, as written there: dx_cols folded back with the (whole-array) col2im_6d kernel.
    dout = rng.standard_normal(out.shape).astype(dtype)
    g = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    dx_cols = (w.reshape(F, -1).T @ g).reshape(geom.C, geom.HH, geom.WW, N, Ho, Wo)
    want_dx = TWINS.col2im_6d_cython(dx_cols, N, geom.C, geom.H, geom.W, geom.HH, geom.WW,
                                              geom.pad, geom.stride, geom.dilation)
    dx, dw, db = fconv.conv_backward_strides(dout, cache)
    assert_close(db, g.sum(axis=1), dtype)
    assert_close(dw, (g @ x_cols.T).reshape(ws), dtype)
    assert_close(dx, want_dx, dtype)
