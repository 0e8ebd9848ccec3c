"""CS231n's two other fast max pools, by name: ``max_pool_{forward,backward}_{reshape,im2col}``.

Kept for code written against the course's ``fast_layers`` module; :mod:`fast_layers.pool`
(``max_pool_forward_fast``) covers every configuration and is the one to use.

* reshape: when the windows tile the input exactly (``pool_height == pool_width == stride``
  and H, W divisible by it), ``x.reshape(N, C, H_out, HH, W_out, WW)`` puts every window on
  the axes 3 and 5, and the max is a reduction over them. The backward splits a window's
  gradient EQUALLY among tied maxima (the course's reshape backward does; the naive layer and
  ``max_pool_backward_fast`` give it all to the first maximum).
* im2col: every window of every (image, channel) plane becomes one column of
  :func:`im2col.im2col_indices`; the max is ``argmax`` down each column and the backward
  scatters ``dout`` into those rows before :func:`im2col.col2im_indices` folds the columns
  back. Ties go to the first maximum in row-major window order. Like the course's version it
  needs the windows to tile the input exactly along the height: (H - HH) % stride == 0, and
  likewise along the width.

Notation
--------
N, C, H, W : input batch, channels, height, width
HH, WW : pooling window height and width
H_out, W_out : output height and width
"""

from __future__ import annotations

import numpy as np

from im2col import col2im_indices, im2col_indices
from _rules.cache import unpack_cache
from _rules.geometry import check_array, check_dout, float_dtype, pool_geometry
from _rules.resources import require

from . import _budget

__all__ = ["max_pool_forward_reshape", "max_pool_backward_reshape", "max_pool_forward_im2col",
           "max_pool_backward_im2col"]


def _check_cache_arrays(producer, **fields):
    """Refuse a cache entry that is not an ndarray of the shape its forward would have made."""
    for name, (value, shape) in fields.items():
        if isinstance(value, np.ndarray):
            check_array(value, f"cache {name}")
        if not isinstance(value, np.ndarray) or value.shape != tuple(shape):
            got = value.shape if isinstance(value, np.ndarray) else type(value).__name__
            raise ValueError(f"cache {name} must be an array of shape {tuple(shape)} as made by {producer}, got {got}")


def max_pool_forward_reshape(x, pool_param):
    """Max pool square windows that tile the input exactly, by one reshape and two reductions.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        ``pool_height``, ``pool_width`` and ``stride``, all equal; H and W multiples of them.

    Returns
    -------
    out : ndarray, shape (N, C, H // HH, W // WW)
    cache : tuple
        ``(x, x_reshaped, out)``: the input, its (N, C, H_out, HH, W_out, WW) view, the output.
    """
    check_array(x, "x", 4, "(N, C, H, W)")
    geom = pool_geometry(x.shape, pool_param)
    if not (geom.HH == geom.WW == geom.stride[0] == geom.stride[1]) or geom.H % geom.HH or geom.W % geom.WW:
        raise ValueError(
            f"max_pool_forward_reshape needs square windows with pool_height == pool_width == stride that tile "
            f"the input; got a {geom.HH}x{geom.WW} window, stride {geom.stride}, input {geom.H}x{geom.W} "
            "(use max_pool_forward_fast, which takes any configuration)"
        )
    require("max_pool_forward_reshape", _budget.pool_reshape_forward(geom, float_dtype(x), x), f"x of shape {x.shape}")
    xf = x.astype(float_dtype(x), copy=False)
    x_reshaped = xf.reshape(geom.N, geom.C, geom.H_out, geom.HH, geom.W_out, geom.WW)
    out = x_reshaped.max(axis=3).max(axis=4)
    return out, (x, x_reshaped, out)


def max_pool_backward_reshape(dout, cache):
    """Gradient of :func:`max_pool_forward_reshape`; tied maxima share a window's gradient equally.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, x_reshaped, out)`` from the forward.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x, x_reshaped, out = unpack_cache(cache, ("x", "x_reshaped", "out"), "max_pool_forward_reshape")
    check_array(x, "cache x", 4, "(N, C, H, W)")
    if isinstance(x_reshaped, np.ndarray):
        check_array(x_reshaped, "cache x_reshaped")
    if not isinstance(x_reshaped, np.ndarray) or x_reshaped.ndim != 6 or x_reshaped.size != x.size:
        raise ValueError("cache x_reshaped must be the (N, C, H_out, HH, W_out, WW) view made by "
                         "max_pool_forward_reshape")
    N, C, H_out, _, W_out, _ = x_reshaped.shape
    _check_cache_arrays("max_pool_forward_reshape", out=(out, (N, C, H_out, W_out)))
    check_dout(dout, out.shape, "the output of max_pool_forward_reshape")
    require("max_pool_backward_reshape", _budget.pool_reshape_backward(x.shape, out.shape, out.dtype, dout),
            f"x of shape {x.shape}")
    # Broadcast every window's max and gradient over the window's own axes (3 and 5).
    is_max = x_reshaped == out[:, :, :, None, :, None]
    share = dout.astype(out.dtype, copy=False)[:, :, :, None, :, None] / is_max.sum(axis=(3, 5), keepdims=True)
    dx_reshaped = np.where(is_max, share, 0).astype(out.dtype, copy=False)
    return dx_reshaped.reshape(x.shape)


def max_pool_forward_im2col(x, pool_param):
    """Max pool through im2col: every window becomes a column, the max is taken down columns.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        ``pool_height``, ``pool_width``, ``stride`` (int); (H - HH) and (W - WW) multiples of it.

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, x_cols, x_cols_argmax, pool_param)``: the input, its columns
        (HH*WW, H_out*W_out*N*C), the row of each column's maximum, a copy of ``pool_param``.
    """
    check_array(x, "x", 4, "(N, C, H, W)")
    geom = pool_geometry(x.shape, pool_param)
    if geom.stride[0] != geom.stride[1]:
        raise ValueError(f"max_pool_forward_im2col takes one stride for both axes, got {pool_param['stride']!r}")
    N, C, H, W = x.shape
    require("max_pool_forward_im2col", _budget.pool_im2col_forward(geom, float_dtype(x), x), f"x of shape {x.shape}")
    planes = x.astype(float_dtype(x), copy=False).reshape(N * C, 1, H, W)
    x_cols = im2col_indices(planes, geom.HH, geom.WW, padding=0, stride=geom.stride[0])
    x_cols_argmax = np.argmax(x_cols, axis=0)
    maxima = x_cols[x_cols_argmax, np.arange(x_cols.shape[1])]
    # Columns run (window position, plane) with the plane fastest.
    out = maxima.reshape(geom.H_out, geom.W_out, N, C).transpose(2, 3, 0, 1)
    return out, (x, x_cols, x_cols_argmax, dict(pool_param))


def max_pool_backward_im2col(dout, cache):
    """Gradient of :func:`max_pool_forward_im2col`; each window's gradient goes to its first maximum.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, x_cols, x_cols_argmax, pool_param)`` from the forward.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x, x_cols, x_cols_argmax, pool_param = unpack_cache(
        cache, ("x", "x_cols", "x_cols_argmax", "pool_param"), "max_pool_forward_im2col")
    check_array(x, "cache x", 4, "(N, C, H, W)")
    geom = pool_geometry(x.shape, pool_param)
    N, C, H, W = x.shape
    n_cols = geom.H_out * geom.W_out * N * C
    _check_cache_arrays("max_pool_forward_im2col", x_cols=(x_cols, (geom.HH * geom.WW, n_cols)),
                        x_cols_argmax=(x_cols_argmax, (n_cols,)))
    check_dout(dout, geom.out_shape, "the output of max_pool_forward_im2col")
    require("max_pool_backward_im2col", _budget.pool_im2col_backward(geom, x_cols.dtype, dout), f"x of shape {x.shape}")
    dx_cols = np.zeros_like(x_cols)
    dx_cols[x_cols_argmax, np.arange(x_cols.shape[1])] = dout.transpose(2, 3, 0, 1).ravel()
    dx = col2im_indices(dx_cols, (N * C, 1, H, W), geom.HH, geom.WW, padding=0, stride=geom.stride[0])
    return dx.reshape(x.shape).astype(x_cols.dtype, copy=False)
