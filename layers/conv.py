"""Naive, loop-based 2-D convolution: the reference every fast implementation is checked against.

The loops are written to be read, not to be fast. Each output element is the dot product of
one filter with one (possibly dilated) window of the zero-padded input, plus the filter's bias.

Notation
--------
N : batch size
C : input channels
H, W : input height and width
F : number of filters
HH, WW : filter height and width
H_out, W_out : output height and width,
    ``H_out = (H + 2*pad_h - dilation_h*(HH-1) - 1) // stride_h + 1`` (floor), likewise ``W_out``.
"""

from __future__ import annotations

import numpy as np

from _rules.cache import param_copy
from _rules.geometry import check_conv_inputs, check_dout, float_dtype

__all__ = ["conv_forward_naive", "conv_backward_naive"]


def _window(geom, i: int, j: int):
    """Return the (row, column) slices of the padded input seen by output pixel (i, j)."""
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    top, left = i * sh, j * sw
    rows = slice(top, top + dh * (geom.HH - 1) + 1, dh)
    cols = slice(left, left + dw * (geom.WW - 1) + 1, dw)
    return rows, cols


def conv_forward_naive(x, w, b, conv_param):
    """Compute a 2-D convolution (cross-correlation) with explicit loops.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input images.
    w : ndarray, shape (F, C, HH, WW)
        Filters.
    b : ndarray, shape (F,)
        One bias per filter.
    conv_param : dict
        ``'stride'``: int or (h, w) pair, the step between windows;
        ``'pad'``: int or (h, w) pair, zeros added on each side;
        ``'dilation'`` (optional, default 1): int or (h, w) pair, the spacing of filter taps.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
        dtype is the floating promotion of x, w and b (float32 stays float32).
    cache : tuple
        ``(x, w, b, conv_param)``: the forward's own arguments, unmodified, with a copy of
        ``conv_param`` (editing the caller's dict afterwards cannot change the gradient).
    """
    geom = check_conv_inputs(x, w, b, conv_param)
    dtype = float_dtype(x, w, b)
    ph, pw = geom.pad
    xp = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    wf = w.astype(dtype, copy=False)
    out = np.empty(geom.out_shape, dtype=dtype)
    for n in range(geom.N):
        for f in range(geom.F):
            for i in range(geom.H_out):
                for j in range(geom.W_out):
                    rows, cols = _window(geom, i, j)
                    out[n, f, i, j] = np.sum(xp[n, :, rows, cols] * wf[f]) + b[f]
    return out, (x, w, b, param_copy(conv_param))


def conv_backward_naive(dout, cache):
    """Compute the gradients of a 2-D convolution with explicit loops.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
        Upstream gradient.
    cache : tuple
        ``(x, w, b, conv_param)`` as returned by :func:`conv_forward_naive`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    if not isinstance(cache, tuple) or len(cache) != 4:
        raise TypeError("cache must be the 4-tuple (x, w, b, conv_param) returned by conv_forward_naive")
    x, w, b, conv_param = cache
    geom = check_conv_inputs(x, w, b, conv_param, "cache ")
    check_dout(dout, geom.out_shape, "the output of conv_forward_naive")
    # Gradients come back in the layer's dtype, whatever the dtype of dout.
    dtype = float_dtype(x, w, b)
    ph, pw = geom.pad
    xp = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    wf = w.astype(dtype, copy=False)
    g = dout.astype(dtype, copy=False)
    dxp = np.zeros_like(xp)
    dw = np.zeros(w.shape, dtype=dtype)
    db = np.zeros(geom.F, dtype=dtype)
    for n in range(geom.N):
        for f in range(geom.F):
            for i in range(geom.H_out):
                for j in range(geom.W_out):
                    rows, cols = _window(geom, i, j)
                    upstream = g[n, f, i, j]
                    # Every input pixel a window touched receives the filter tap that touched it.
                    dxp[n, :, rows, cols] += wf[f] * upstream
                    dw[f] += xp[n, :, rows, cols] * upstream
                    db[f] += upstream
    dx = dxp[:, :, ph:ph + geom.H, pw:pw + geom.W].copy()
    return dx, dw, db
