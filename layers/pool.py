"""Naive 2-D max and average pooling: the references for ``fast_layers.pool``.

Windows of ``pool_height x pool_width`` start every ``stride`` pixels (an int or an (h, w)
pair); trailing rows/columns that no window reaches are ignored (floor semantics, computed once
in ``_rules.geometry.pool_geometry``) and get a zero gradient.

Ties in max pooling: when several elements of a window share the maximum, the whole upstream
gradient of that window goes to the FIRST of them in row-major window order (the smallest row,
then the smallest column), i.e. to ``np.argmax`` of the flattened window. A NaN counts as the
maximum (the output is NaN and the first NaN gets the gradient). ``fast_layers.pool`` follows
exactly the same rule.

Notation
--------
N : batch size
C : channels
H, W : input height and width
HH, WW : pooling window height and width (``pool_height``, ``pool_width``)
H_out, W_out : output height and width, ``H_out = (H - HH) // stride_h + 1``, likewise W_out
"""

from __future__ import annotations

import numpy as np

from _rules.cache import param_copy, unpack_cache
from _rules.geometry import check_array, check_dout, float_dtype, pool_geometry, pool_windows

__all__ = [
    "max_pool_forward_naive",
    "max_pool_backward_naive",
    "avg_pool_forward_naive",
    "avg_pool_backward_naive",
]


def _forward_geometry(x, pool_param):
    check_array(x, "x", 4, "(N, C, H, W)")
    return pool_geometry(x.shape, pool_param), float_dtype(x)


def _backward_inputs(dout, cache, producer):
    x, pool_param = unpack_cache(cache, ("x", "pool_param"), producer)
    check_array(x, "cache x", 4, "(N, C, H, W)")
    geom = pool_geometry(x.shape, pool_param)
    check_dout(dout, geom.out_shape, f"the output of {producer}")
    dtype = float_dtype(x)
    return geom, dtype, x.astype(dtype, copy=False), dout.astype(dtype, copy=False)


def max_pool_forward_naive(x, pool_param):
    """Take the maximum of each pooling window.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` (positive ints) and ``'stride'`` (positive int or
        (h, w) pair).

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
        In the floating dtype of x.
    cache : tuple
        ``(x, pool_param)``: the forward's own arguments, unmodified (a copy of pool_param).
    """
    geom, dtype = _forward_geometry(x, pool_param)
    xf = x.astype(dtype, copy=False)
    out = np.empty(geom.out_shape, dtype=dtype)
    for i, j, rows, cols in pool_windows(geom):
        out[:, :, i, j] = xf[:, :, rows, cols].max(axis=(2, 3))
    return out, (x, param_copy(pool_param))


def max_pool_backward_naive(dout, cache):
    """Gradient of :func:`max_pool_forward_naive`: each window's gradient goes to its argmax.

    Ties go to the first maximal element in row-major window order (see the module docstring).
    Where windows overlap, an element collects the gradient of every window it is the argmax of.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, pool_param)`` from :func:`max_pool_forward_naive`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        One array, not a tuple.
    """
    geom, dtype, xf, g = _backward_inputs(dout, cache, "max_pool_forward_naive")
    dx = np.zeros((geom.N, geom.C, geom.H, geom.W), dtype=dtype)
    n_idx, c_idx = np.meshgrid(np.arange(geom.N), np.arange(geom.C), indexing="ij")
    for i, j, rows, cols in pool_windows(geom):
        window = xf[:, :, rows, cols].reshape(geom.N, geom.C, geom.HH * geom.WW)
        first_max = window.argmax(axis=2)
        r = rows.start + first_max // geom.WW
        c = cols.start + first_max % geom.WW
        # (n, c, r, c) pairs are distinct within one window position, so += does not drop terms.
        dx[n_idx, c_idx, r, c] += g[:, :, i, j]
    return dx


def avg_pool_forward_naive(x, pool_param):
    """Take the mean of each pooling window.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` and ``'stride'``, as for :func:`max_pool_forward_naive`.

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, pool_param)``: the forward's own arguments, unmodified (a copy of pool_param).
    """
    geom, dtype = _forward_geometry(x, pool_param)
    xf = x.astype(dtype, copy=False)
    out = np.empty(geom.out_shape, dtype=dtype)
    for i, j, rows, cols in pool_windows(geom):
        out[:, :, i, j] = xf[:, :, rows, cols].mean(axis=(2, 3))
    return out, (x, param_copy(pool_param))


def avg_pool_backward_naive(dout, cache):
    """Gradient of :func:`avg_pool_forward_naive`: each window spreads ``dout / (HH*WW)`` evenly.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, pool_param)`` from :func:`avg_pool_forward_naive`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    geom, dtype, _, g = _backward_inputs(dout, cache, "avg_pool_forward_naive")
    dx = np.zeros((geom.N, geom.C, geom.H, geom.W), dtype=dtype)
    share = g / dtype.type(geom.HH * geom.WW)
    for i, j, rows, cols in pool_windows(geom):
        dx[:, :, rows, cols] += share[:, :, i, j][:, :, None, None]
    return dx
