"""Pure-numpy versions of the compiled kernels, with the same names, signatures and results.

Used when ``im2col_cython`` cannot be imported (or is disabled with ``CNNKIT_DISABLE_CYTHON=1``).
They validate their arguments with the same functions as the compiled kernels (_rules.kernel_args).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from _rules.kernel_args import (
    col2im_6d_add_args,
    col2im_6d_args,
    col2im_args,
    im2col_6d_args,
    im2col_args,
)

__all__ = ["im2col_cython", "col2im_cython", "col2im_6d_cython", "im2col_6d_cython", "col2im_6d_add_cython"]


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
    x, g = im2col_args(x, field_height, field_width, padding, stride, dilation)
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
    cols, g = col2im_args(cols, N, C, H, W, field_height, field_width, padding, stride, dilation)
    cols6 = cols.reshape(g.C, g.HH, g.WW, g.H_out, g.W_out, g.N).transpose(5, 0, 1, 2, 3, 4)
    return _accumulate(cols6, g, cols.dtype)


def col2im_6d_cython(cols, N, C, H, W, HH, WW, pad, stride, dilation=1):
    """Numpy twin of :func:`im2col_cython.col2im_6d_cython`; see there for shapes and layout."""
    cols, g = col2im_6d_args(cols, N, C, H, W, HH, WW, pad, stride, dilation)
    return _accumulate(cols.transpose(3, 0, 1, 2, 4, 5), g, cols.dtype)


def im2col_6d_cython(x, field_height, field_width, padding, stride, dilation=1, out=None, parallel=True):
    """Numpy twin of :func:`im2col_cython.im2col_6d_cython`; see there (``parallel`` has no effect here)."""
    x, g, out = im2col_6d_args(x, field_height, field_width, padding, stride, dilation, out)
    xp = _padded(x, g)
    sN, sC, sH, sW = xp.strides
    (sh, sw), (dh, dw) = g.stride, g.dilation
    view = as_strided(
        xp,
        shape=out.shape,
        strides=(sC, dh * sH, dw * sW, sN, sh * sH, sw * sW),
        writeable=False,
    )
    np.copyto(out, view)
    return out


def col2im_6d_add_cython(cols, out, padding, stride, dilation=1, parallel=True):
    """Numpy twin of :func:`im2col_cython.col2im_6d_add_cython`; see there (``parallel`` has no effect here)."""
    cols, g = col2im_6d_add_args(cols, out, padding, stride, dilation)
    out += _accumulate(cols.transpose(3, 0, 1, 2, 4, 5), g, cols.dtype)
    return out
