"""Fast 2-D convolution: im2col (compiled kernel) and as_strided window views, each feeding one GEMM.

Both take the same arguments as :func:`layers.conv_forward_naive` and agree with it to rounding.

Notation
--------
N : batch size
C : input channels
H, W : input height and width
F : number of filters
HH, WW : filter height and width
H_out, W_out : output height and width (floor semantics, see ``layers._geometry``)
K : ``C*HH*WW``, the length of one unfolded window
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from layers._geometry import check_array, check_dout, conv_geometry, float_dtype

from ._kernels import col2im, col2im_6d, im2col

__all__ = [
    "conv_forward_im2col",
    "conv_backward_im2col",
    "conv_forward_strides",
    "conv_backward_strides",
    "conv_forward_fast",
    "conv_backward_fast",
]


def _forward_inputs(x, w, b, conv_param):
    """Validate a forward call; return its geometry and x, w, b in the compute dtype."""
    check_array(x, "x", 4, "(N, C, H, W)")
    check_array(w, "w", 4, "(F, C, HH, WW)")
    check_array(b, "b")
    geom = conv_geometry(x.shape, w.shape, conv_param)
    if b.shape != (geom.F,):
        raise ValueError(f"b must have shape (F,) = ({geom.F},), one bias per filter, got shape {b.shape}")
    dtype = float_dtype(x, w, b)
    # astype(copy=False) returns the caller's own array when no cast is needed; it is only read.
    return geom, dtype, x.astype(dtype, copy=False), w.astype(dtype, copy=False), b.astype(dtype, copy=False)


def _backward_inputs(dout, cache, name):
    """Validate a backward call; return the geometry, dtype, forward inputs, x_cols and dout."""
    if not isinstance(cache, tuple) or len(cache) != 5:
        raise TypeError(
            f"cache must be the 5-tuple (x, w, b, conv_param, x_cols) returned by conv_forward_{name}, "
            f"got {type(cache).__name__}" + (f" of length {len(cache)}" if isinstance(cache, tuple) else "")
        )
    x, w, b, conv_param, x_cols = cache
    geom = conv_geometry(x.shape, w.shape, conv_param)
    dtype = float_dtype(x, w, b)
    if not isinstance(x_cols, np.ndarray) or x_cols.shape != geom.cols_shape or x_cols.dtype != dtype:
        raise ValueError(
            f"cache[4] (x_cols) must be a {dtype} array of shape {geom.cols_shape} as made by "
            f"conv_forward_{name}; got {getattr(x_cols, 'dtype', type(x_cols).__name__)} "
            f"{getattr(x_cols, 'shape', '')}"
        )
    check_dout(dout, geom.out_shape, f"the output of conv_forward_{name}")
    return geom, dtype, x, w, x_cols, dout.astype(dtype, copy=False)


def conv_forward_im2col(x, w, b, conv_param):
    """Convolve by unfolding windows with the im2col kernel, then one matrix product.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, HH, WW)
    b : ndarray, shape (F,)
    conv_param : dict
        ``'stride'``, ``'pad'`` and optional ``'dilation'``, each an int or an (h, w) pair.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(x, w, b, conv_param, x_cols)``; ``x_cols`` has shape (K, H_out*W_out*N), columns
        ordered (y, x, n) as produced by ``im2col_cython``.
    """
    geom, dtype, xf, wf, bf = _forward_inputs(x, w, b, conv_param)
    x_cols = im2col(xf, geom.HH, geom.WW, geom.pad, geom.stride, geom.dilation)
    res = wf.reshape(geom.F, -1) @ x_cols
    res += bf[:, None]
    out = res.reshape(geom.F, geom.H_out, geom.W_out, geom.N).transpose(3, 0, 1, 2)
    return np.ascontiguousarray(out), (x, w, b, conv_param, x_cols)


def conv_backward_im2col(dout, cache):
    """Gradients of :func:`conv_forward_im2col`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(x, w, b, conv_param, x_cols)`` from :func:`conv_forward_im2col`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    geom, dtype, x, w, x_cols, g = _backward_inputs(dout, cache, "im2col")
    db = g.sum(axis=(0, 2, 3))
    g2 = g.transpose(1, 2, 3, 0).reshape(geom.F, -1)
    dw = (g2 @ x_cols.T).reshape(w.shape)
    dx_cols = w.astype(dtype, copy=False).reshape(geom.F, -1).T @ g2
    dx = col2im(dx_cols, geom.N, geom.C, geom.H, geom.W, geom.HH, geom.WW,
                geom.pad, geom.stride, geom.dilation)
    return dx, dw, db


def _window_view(xp, geom):
    """Read-only view of the padded input, shape (C, HH, WW, N, H_out, W_out), no copy."""
    sN, sC, sH, sW = xp.strides
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    return as_strided(
        xp,
        shape=(geom.C, geom.HH, geom.WW, geom.N, geom.H_out, geom.W_out),
        strides=(sC, dh * sH, dw * sW, sN, sh * sH, sw * sW),
        writeable=False,
    )


def conv_forward_strides(x, w, b, conv_param):
    """Convolve through an ``as_strided`` window view of the padded input and one matrix product.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, HH, WW)
    b : ndarray, shape (F,)
    conv_param : dict
        ``'stride'``, ``'pad'`` and optional ``'dilation'``, each an int or an (h, w) pair.

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(x, w, b, conv_param, x_cols)``; ``x_cols`` has shape (K, N*H_out*W_out), rows ordered
        (c, i, j) and columns (n, y, x).
    """
    geom, dtype, xf, wf, bf = _forward_inputs(x, w, b, conv_param)
    ph, pw = geom.pad
    xp = np.pad(xf, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else xf
    x_cols = np.ascontiguousarray(_window_view(xp, geom)).reshape(geom.cols_shape)
    res = wf.reshape(geom.F, -1) @ x_cols
    res += bf[:, None]
    out = res.reshape(geom.F, geom.N, geom.H_out, geom.W_out).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(out), (x, w, b, conv_param, x_cols)


def conv_backward_strides(dout, cache):
    """Gradients of :func:`conv_forward_strides`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(x, w, b, conv_param, x_cols)`` from :func:`conv_forward_strides`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    geom, dtype, x, w, x_cols, g = _backward_inputs(dout, cache, "strides")
    db = g.sum(axis=(0, 2, 3))
    g2 = g.transpose(1, 0, 2, 3).reshape(geom.F, -1)
    dw = (g2 @ x_cols.T).reshape(w.shape)
    dx_cols = w.astype(dtype, copy=False).reshape(geom.F, -1).T @ g2
    dx_cols = dx_cols.reshape(geom.C, geom.HH, geom.WW, geom.N, geom.H_out, geom.W_out)
    dx = col2im_6d(dx_cols, geom.N, geom.C, geom.H, geom.W, geom.HH, geom.WW,
                   geom.pad, geom.stride, geom.dilation)
    return dx, dw, db


# The recommended entry points: the strides path is the faster of the two on every shape measured.
conv_forward_fast = conv_forward_strides
conv_backward_fast = conv_backward_strides
