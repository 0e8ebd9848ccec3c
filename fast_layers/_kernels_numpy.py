"""Pure-numpy versions of the compiled kernels, with the same names, signatures and results.

Used when ``im2col_cython`` cannot be imported (or is disabled with ``CNNKIT_DISABLE_CYTHON=1``).
They validate their arguments through the same geometry helper as the compiled kernels.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from layers._geometry import float_dtype, kernel_geometry

__all__ = ["im2col_cython", "col2im_cython", "col2im_6d_cython", "im2col_6d_cython", "col2im_6d_add_cython"]


def _floating_array(a, name, ndim):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy ndarray, got {type(a).__name__}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    return np.ascontiguousarray(a, dtype=float_dtype(a))


def _padded(x, g):
    ph, pw = g.pad
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def _tap_slices(g, fi, fj):
    """Rows/columns of the padded image that filter tap (fi, fj) visits, in output order."""
    (sh, sw), (dh, dw) = g.stride, g.dilation
    r0, c0 = fi * dh, fj * dw
    return (slice(r0, r0 + sh * (g.H_out - 1) + 1, sh), slice(c0, c0 + sw * (g.W_out - 1) + 1, sw))


def im2col_cython(x, field_height, field_width, padding, stride, dilation=1):
    """Numpy twin of :func:`im2col_cython.im2col_cython`; see there for shapes and layout."""
    x = _floating_array(x, "x", 4)
    g = kernel_geometry(*x.shape, field_height, field_width, padding, stride, dilation)
    xp = _padded(x, g)
    sN, sC, sH, sW = xp.strides
    (sh, sw), (dh, dw) = g.stride, g.dilation
    # View of shape (C, HH, WW, H_out, W_out, N): the kernel's row and column order.
    view = as_strided(
        xp,
        shape=(g.C, g.HH, g.WW, g.H_out, g.W_out, g.N),
        strides=(sC, dh * sH, dw * sW, sh * sH, sw * sW, sN),
        writeable=False,
    )
    return np.ascontiguousarray(view).reshape(g.cols_shape)


def _accumulate(cols6, g, dtype):
    """Sum a (N, C, HH, WW, H_out, W_out) array of tap contributions into an (N, C, H, W) image."""
    ph, pw = g.pad
    xp = np.zeros((g.N, g.C, g.H + 2 * ph, g.W + 2 * pw), dtype=dtype)
    for fi in range(g.HH):
        for fj in range(g.WW):
            rows, cols = _tap_slices(g, fi, fj)
            xp[:, :, rows, cols] += cols6[:, :, fi, fj]
    return np.ascontiguousarray(xp[:, :, ph:ph + g.H, pw:pw + g.W])


def col2im_cython(cols, N, C, H, W, field_height, field_width, padding, stride, dilation=1):
    """Numpy twin of :func:`im2col_cython.col2im_cython`; see there for shapes and layout."""
    cols = _floating_array(cols, "cols", 2)
    g = kernel_geometry(N, C, H, W, field_height, field_width, padding, stride, dilation)
    if cols.shape != g.cols_shape:
        raise ValueError(
            f"cols has shape {cols.shape}, but N={g.N}, C={g.C}, H={g.H}, W={g.W} with a "
            f"{g.HH}x{g.WW} field, padding {g.pad}, stride {g.stride}, dilation {g.dilation} "
            f"needs shape {g.cols_shape}"
        )
    cols6 = cols.reshape(g.C, g.HH, g.WW, g.H_out, g.W_out, g.N).transpose(5, 0, 1, 2, 3, 4)
    return _accumulate(cols6, g, cols.dtype)


def col2im_6d_cython(cols, N, C, H, W, HH, WW, pad, stride, dilation=1):
    """Numpy twin of :func:`im2col_cython.col2im_6d_cython`; see there for shapes and layout."""
    cols = _floating_array(cols, "cols", 6)
    g = kernel_geometry(N, C, H, W, HH, WW, pad, stride, dilation)
    expected = (g.C, g.HH, g.WW, g.N, g.H_out, g.W_out)
    if cols.shape != expected:
        raise ValueError(
            f"cols has shape {cols.shape}, but N={g.N}, C={g.C}, H={g.H}, W={g.W} with a "
            f"{g.HH}x{g.WW} filter, pad {g.pad}, stride {g.stride}, dilation {g.dilation} "
            f"needs shape {expected}"
        )
    return _accumulate(cols.transpose(3, 0, 1, 2, 4, 5), g, cols.dtype)


def _output_array(out, name, shape, dtype):
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy ndarray, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {out.dtype}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {out.shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"{name} must be a writeable C-contiguous array")
    return out


def im2col_6d_cython(x, field_height, field_width, padding, stride, dilation=1, out=None, parallel=True):
    """Numpy twin of :func:`im2col_cython.im2col_6d_cython`; see there (``parallel`` has no effect here)."""
    x = _floating_array(x, "x", 4)
    g = kernel_geometry(*x.shape, field_height, field_width, padding, stride, dilation)
    shape = (g.C, g.HH, g.WW, g.N, g.H_out, g.W_out)
    if out is None:
        out = np.empty(shape, dtype=x.dtype)
    else:
        _output_array(out, "out", shape, x.dtype)
        if np.may_share_memory(out, x):
            raise ValueError("out overlaps x; im2col_6d needs an output buffer separate from its input")
    xp = _padded(x, g)
    sN, sC, sH, sW = xp.strides
    (sh, sw), (dh, dw) = g.stride, g.dilation
    view = as_strided(
        xp,
        shape=shape,
        strides=(sC, dh * sH, dw * sW, sN, sh * sH, sw * sW),
        writeable=False,
    )
    np.copyto(out, view)
    return out


def col2im_6d_add_cython(cols, out, padding, stride, dilation=1, parallel=True):
    """Numpy twin of :func:`im2col_cython.col2im_6d_add_cython`; see there (``parallel`` has no effect here)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy ndarray, got {type(out).__name__}")
    if out.dtype not in (np.float32, np.float64):
        raise TypeError(f"out must be float32 or float64, got dtype {out.dtype}")
    if out.ndim != 4:
        raise ValueError(f"out must be 4-D (N, C, H, W), got shape {out.shape}")
    cols = _floating_array(cols, "cols", 6)
    if cols.dtype != out.dtype:
        raise TypeError(f"cols has dtype {cols.dtype} but out has dtype {out.dtype}; they must match")
    N, C, H, W = out.shape
    g = kernel_geometry(N, C, H, W, cols.shape[1], cols.shape[2], padding, stride, dilation)
    expected = (g.C, g.HH, g.WW, g.N, g.H_out, g.W_out)
    if cols.shape != expected:
        raise ValueError(
            f"cols has shape {cols.shape}, but out of shape {out.shape} with a {g.HH}x{g.WW} "
            f"filter, padding {g.pad}, stride {g.stride}, dilation {g.dilation} needs shape {expected}"
        )
    _output_array(out, "out", out.shape, out.dtype)
    if np.may_share_memory(out, cols):
        raise ValueError("out overlaps cols; col2im_6d_add needs an output buffer separate from its input")
    out += _accumulate(cols.transpose(3, 0, 1, 2, 4, 5), g, cols.dtype)
    return out
