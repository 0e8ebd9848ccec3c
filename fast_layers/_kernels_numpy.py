"""Pure-numpy twins of the compiled kernels: the same signatures, checks and results.

Each twin is named as its row in ``fast_layers.kernel_table`` (``im2col_6d`` for the compiled
``im2col_6d_cython``). Used when ``im2col_cython`` cannot be imported (or is disabled with
``CNNKIT_DISABLE_CYTHON=1``); they validate their arguments with the same functions as the
compiled kernels (``_rules.kernel_args``).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from _rules.geometry import pool_windows
from _rules.kernel_args import (
    avg_pool_backward_args,
    col2im_6d_add_args,
    col2im_6d_args,
    col2im_args,
    im2col_6d_args,
    im2col_args,
    max_pool_backward_args,
    pool_args,
)

__all__ = [
    "im2col", "col2im", "col2im_6d", "im2col_6d", "col2im_6d_add",
    "max_pool_forward", "max_pool_backward", "avg_pool_forward", "avg_pool_backward",
]


def _valid(size, out_size, offset, step):
    """Output positions ``[lo, hi)`` whose input index ``o*step + offset`` lies in ``[0, size)``."""
    lo = max(0, -(offset // step)) if offset < 0 else 0
    hi = min(out_size, (size - 1 - offset) // step + 1) if offset <= size - 1 else 0
    return lo, max(lo, hi)


def _taps(g):
    """Yield (fi, fj, out_rows, out_cols, in_rows, in_cols) for every filter tap.

    Tap (fi, fj) of the window at output pixel (y, x) reads input pixel
    ``(y*sh + fi*dh - ph, x*sw + fj*dw - pw)``; ``out_*`` are the output pixels for which that
    falls inside x (the rest read the zero padding) and ``in_*`` the input pixels they read.
    No padded copy of x is ever made, so memory does not grow with the padding.
    """
    (sh, sw), (dh, dw), (ph, pw) = g.stride, g.dilation, g.pad
    for fi in range(g.HH):
        r0 = fi * dh - ph
        ylo, yhi = _valid(g.H, g.H_out, r0, sh)
        for fj in range(g.WW):
            c0 = fj * dw - pw
            xlo, xhi = _valid(g.W, g.W_out, c0, sw)
            if ylo == yhi or xlo == xhi:
                continue
            in_rows = slice(ylo * sh + r0, (yhi - 1) * sh + r0 + 1, sh)
            in_cols = slice(xlo * sw + c0, (xhi - 1) * sw + c0 + 1, sw)
            yield fi, fj, slice(ylo, yhi), slice(xlo, xhi), in_rows, in_cols


def im2col(x, field_height, field_width, padding, stride, dilation=1):
    """Numpy twin of :func:`im2col_cython.im2col_cython`; see there for shapes and layout."""
    x, g = im2col_args(x, field_height, field_width, padding, stride, dilation)
    # The kernel's row and column order: (C, HH, WW, H_out, W_out, N).
    cols = np.zeros((g.C, g.HH, g.WW, g.H_out, g.W_out, g.N), dtype=x.dtype)
    for fi, fj, orows, ocols, irows, icols in _taps(g):
        cols[:, fi, fj, orows, ocols, :] = x[:, :, irows, icols].transpose(1, 2, 3, 0)
    return cols.reshape(g.cols_shape)


def _accumulate(cols6, g, out):
    """Add a (N, C, HH, WW, H_out, W_out) array of tap contributions into the (N, C, H, W) ``out``."""
    for fi, fj, orows, ocols, irows, icols in _taps(g):
        out[:, :, irows, icols] += cols6[:, :, fi, fj, orows, ocols]
    return out


def col2im(cols, N, C, H, W, field_height, field_width, padding, stride, dilation=1):
    """Numpy twin of :func:`im2col_cython.col2im_cython`; see there for shapes and layout."""
    cols, g = col2im_args(cols, N, C, H, W, field_height, field_width, padding, stride, dilation)
    cols6 = cols.reshape(g.C, g.HH, g.WW, g.H_out, g.W_out, g.N).transpose(5, 0, 1, 2, 3, 4)
    return _accumulate(cols6, g, np.zeros((g.N, g.C, g.H, g.W), dtype=cols.dtype))


def col2im_6d(cols, N, C, H, W, HH, WW, pad, stride, dilation=1):
    """Numpy twin of :func:`im2col_cython.col2im_6d_cython`; see there for shapes and layout."""
    cols, g = col2im_6d_args(cols, N, C, H, W, HH, WW, pad, stride, dilation)
    return _accumulate(cols.transpose(3, 0, 1, 2, 4, 5), g, np.zeros((g.N, g.C, g.H, g.W), dtype=cols.dtype))


def im2col_6d(x, field_height, field_width, padding, stride, dilation=1, out=None, parallel=True):
    """Numpy twin of :func:`im2col_cython.im2col_6d_cython`; see there (``parallel`` has no effect here)."""
    x, g, out = im2col_6d_args(x, field_height, field_width, padding, stride, dilation, out)
    out.fill(0)
    for fi, fj, orows, ocols, irows, icols in _taps(g):
        out[:, fi, fj, :, orows, ocols] = x[:, :, irows, icols].transpose(1, 0, 2, 3)
    return out


def col2im_6d_add(cols, out, padding, stride, dilation=1, parallel=True):
    """Numpy twin of :func:`im2col_cython.col2im_6d_add_cython`; see there (``parallel`` has no effect here)."""
    cols, g = col2im_6d_add_args(cols, out, padding, stride, dilation)
    return _accumulate(cols.transpose(3, 0, 1, 2, 4, 5), g, out)


# ---------------------------------------------------------------------------------------------
# Pooling twins.
#
# A window has only K = HH*WW offsets, and the offset (a, b) of every window at once is a strided
# view of x. So instead of copying the (N, C, H_out, W_out, K) windows and reducing along a short
# axis (slow in numpy), both passes loop over the K offsets with whole-array operations:
#
# * forward: ``out = max (or sum / K)`` over the K offset views;
# * max backward: walk the offsets in row-major order; an offset receives a window's gradient
#   where it equals the window's maximum and no earlier offset did (a "still free" mask), which
#   is exactly the first-maximum rule of the compiled kernel;
# * avg backward: every offset receives ``dout / K``.
#
# The offset views come from a reshape when the windows tile x exactly (stride == window, nothing
# left over), from a read-only ``as_strided`` view of shape (N, C, H_out, W_out, HH, WW) otherwise
# (the gradient of offset (a, b) is then added into ``dx[:, :, a::sh, b::sw]``, cut to
# H_out x W_out, so overlapping windows accumulate without ``np.add.at``). When a window has more
# elements than there are output pixels (a global pool), the loop runs over the H_out*W_out
# window positions instead, each step vectorized over N and C. :func:`_strategy` names the path.

class _Windows:
    """The K offset views of x (each shape (N, C, H_out, W_out)) and where their gradient goes."""

    def __init__(self, xf, geom):
        self.geom = geom
        self.xf = xf
        self.offsets = [(a, b) for a in range(geom.HH) for b in range(geom.WW)]  # row-major order
        if geom.tiles:
            self._view = xf.reshape(geom.N, geom.C, geom.H_out, geom.HH, geom.W_out, geom.WW)
        else:
            sN, sC, sH, sW = xf.strides
            sh, sw = geom.stride
            self._view = as_strided(
                xf,
                shape=(geom.N, geom.C, geom.H_out, geom.W_out, geom.HH, geom.WW),
                strides=(sN, sC, sh * sH, sw * sW, sH, sW),
                writeable=False,
            )

    def at(self, a, b):
        """Offset (a, b) of every window, shape (N, C, H_out, W_out), a view of x."""
        if self.geom.tiles:
            return self._view[:, :, :, a, :, b]
        return self._view[:, :, :, :, a, b]

    def add(self, dx, a, b, values):
        """Add ``values`` (N, C, H_out, W_out) to the pixels of dx at offset (a, b) of every window.

        ``dx`` starts as zeros; adding (rather than assigning, even where windows are disjoint)
        also turns the -0.0 of ``negative * False`` into +0.0.
        """
        g = self.geom
        if g.tiles:
            target = dx.reshape(g.N, g.C, g.H_out, g.HH, g.W_out, g.WW)[:, :, :, a, :, b]
        else:
            sh, sw = g.stride
            target = dx[:, :, a:a + sh * (g.H_out - 1) + 1:sh, b:b + sw * (g.W_out - 1) + 1:sw]
        np.add(target, values, out=target)


def _strategy(geom) -> str:
    """Name the path a pooling geometry takes: 'per_window', 'reshape' or 'as_strided'."""
    if geom.HH * geom.WW > geom.H_out * geom.W_out:
        return "per_window"
    return "reshape" if geom.tiles else "as_strided"


def _max_forward_per_window(xf, geom):
    out = np.empty(geom.out_shape, dtype=xf.dtype)
    for i, j, rows, cols in pool_windows(geom):
        out[:, :, i, j] = xf[:, :, rows, cols].max(axis=(2, 3))
    return out


def _max_backward_per_window(xf, g, geom):
    dx = np.zeros((geom.N, geom.C, geom.H, geom.W), dtype=xf.dtype)
    n_idx, c_idx = np.meshgrid(np.arange(geom.N), np.arange(geom.C), indexing="ij")
    for i, j, rows, cols in pool_windows(geom):
        first_max = xf[:, :, rows, cols].reshape(geom.N, geom.C, -1).argmax(axis=2)
        # Each (n, c) appears once per window position, so the fancy += never drops a term.
        dx[n_idx, c_idx, rows.start + first_max // geom.WW, cols.start + first_max % geom.WW] += g[:, :, i, j]
    return dx


def _avg_forward_per_window(xf, geom):
    out = np.empty(geom.out_shape, dtype=xf.dtype)
    for i, j, rows, cols in pool_windows(geom):
        out[:, :, i, j] = xf[:, :, rows, cols].mean(axis=(2, 3))
    return out


def _avg_backward_per_window(share, geom):
    dx = np.zeros((geom.N, geom.C, geom.H, geom.W), dtype=share.dtype)
    for i, j, rows, cols in pool_windows(geom):
        dx[:, :, rows, cols] += share[:, :, i, j][:, :, None, None]
    return dx


def _window_max(win):
    first, *rest = win.offsets
    out = win.at(*first).copy()
    for a, b in rest:
        # np.maximum propagates NaN, as the naive window.max() does.
        np.maximum(out, win.at(a, b), out=out)
    return out


def max_pool_forward(x, pool_height, pool_width, stride, parallel=True, first_if_nonpositive=False,
                            zero_if_nonpositive=False):
    """Numpy twin of :func:`im2col_cython.max_pool_forward_cython` (``parallel`` has no effect here)."""
    x, g = pool_args(x, pool_height, pool_width, stride)
    if _strategy(g) == "per_window":
        out = _max_forward_per_window(x, g)
    else:
        out = _window_max(_Windows(x, g))
    # NaN <= 0 is false: NaN windows keep their NaN.
    if zero_if_nonpositive:
        np.copyto(out, 0, where=out <= 0)
    elif first_if_nonpositive:
        sh, sw = g.stride
        first = x[:, :, :sh * g.H_out:sh, :sw * g.W_out:sw]  # each window's top-left element
        np.copyto(out, first, where=out <= 0)
    return out


def max_pool_backward(x, dout, pool_height, pool_width, stride, parallel=True, positive_only=False):
    """Numpy twin of :func:`im2col_cython.max_pool_backward_cython` (``parallel`` has no effect here)."""
    x, dout, g = max_pool_backward_args(x, dout, pool_height, pool_width, stride)
    dx = _max_pool_backward(x, dout, g)
    # Only window maxima hold gradient, so masking dx is masking the routed maxima.
    return np.where(x > 0, dx, x.dtype.type(0)) if positive_only else dx


def _max_pool_backward(x, dout, g):
    if _strategy(g) == "per_window":
        return _max_backward_per_window(x, dout, g)
    win = _Windows(x, g)
    out = _window_max(win)
    nan_out = np.isnan(out)
    has_nan = bool(nan_out.any())
    # dout * hit is exact for finite dout; inf * False would be NaN, so non-finite dout takes copyto.
    finite_g = bool(np.isfinite(dout).all())
    # Buffers reused for every offset: fresh allocations per offset cost more than the arithmetic.
    free = np.ones(out.shape, dtype=bool)  # windows whose gradient has not been routed yet
    hit = np.empty(out.shape, dtype=bool)
    routed = np.empty(out.shape, dtype=x.dtype)
    dx = np.zeros((g.N, g.C, g.H, g.W), dtype=x.dtype)
    for a, b in win.offsets:
        v = win.at(a, b)
        np.equal(v, out, out=hit)
        if has_nan:
            # NaN != NaN: in a window whose maximum is NaN, the first NaN is the maximum.
            hit |= np.isnan(v) & nan_out
        hit &= free
        free ^= hit
        if finite_g:
            np.multiply(dout, hit, out=routed)
        else:
            routed.fill(0)
            np.copyto(routed, dout, where=hit)
        win.add(dx, a, b, routed)
    return dx


def avg_pool_forward(x, pool_height, pool_width, stride, parallel=True):
    """Numpy twin of :func:`im2col_cython.avg_pool_forward_cython` (``parallel`` has no effect here)."""
    x, g = pool_args(x, pool_height, pool_width, stride)
    if _strategy(g) == "per_window":
        return _avg_forward_per_window(x, g)
    win = _Windows(x, g)
    first, *rest = win.offsets
    out = win.at(*first).copy()
    for a, b in rest:
        out += win.at(a, b)
    out /= out.dtype.type(len(win.offsets))
    return out


def avg_pool_backward(dout, x_shape, pool_height, pool_width, stride, parallel=True):
    """Numpy twin of :func:`im2col_cython.avg_pool_backward_cython` (``parallel`` has no effect here)."""
    dout, g = avg_pool_backward_args(dout, x_shape, pool_height, pool_width, stride)
    share = dout / dout.dtype.type(g.HH * g.WW)
    if _strategy(g) == "per_window":
        return _avg_backward_per_window(share, g)
    dx = np.zeros((g.N, g.C, g.H, g.W), dtype=dout.dtype)
    win = _Windows(dx, g)  # only its offsets and add() are used: no view of dx is read
    for a, b in win.offsets:
        win.add(dx, a, b, share)
    return dx
