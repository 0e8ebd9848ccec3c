"""Fast 2-D convolution by the strides trick: copy every window into one matrix, then multiply.

The definition, in numpy (:func:`conv_forward_strides` does exactly this)::

    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))            # zero-padded input
    sN, sC, sH, sW = xp.strides                                      # bytes per step along each axis
    windows = as_strided(xp, shape=(C, HH, WW, N, H_out, W_out),     # a view: nothing copied yet
                         strides=(sC, dh*sH, dw*sW, sN, sh*sH, sw*sW))
    x_cols = np.ascontiguousarray(windows).reshape(K, N*H_out*W_out)  # the one copy
    out = w.reshape(F, K) @ x_cols + b[:, None]                      # one GEMM, (F, N*H_out*W_out)
    out = out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)       # -> (N, F, H_out, W_out)

``windows[c, i, j, n, y, x]`` is tap (i, j) of channel c of the window at output pixel (y, x) of
image n: moving one output pixel right moves ``sw`` input columns (``sw*sW`` bytes), moving one
filter tap right moves ``dw`` input columns, and so on; no element is copied until
``ascontiguousarray``. The backward is the same picture read in reverse, with ``g`` the output
gradient laid out like ``out`` above, (F, N*H_out*W_out)::

    db = g.sum(axis=1)
    dw = (g @ x_cols.T).reshape(F, C, HH, WW)
    dx_cols = w.reshape(F, K).T @ g                     # gradient of every copied window element
    dx = col2im(dx_cols)                                # added back at the pixel it was copied from

What the layer adds for speed, and nothing else:

* the compiled ``im2col_6d`` kernel makes the same ``x_cols`` copy of the same window view
  straight from x, without the padded image (``tests/fast_layers/test_conv_strides_trick.py``
  checks it is bitwise identical); so does its numpy twin when a pad is wider than the windows'
  reach, where the padded image would outgrow x_cols;
* the forward runs one GEMM per image straight into ``out[n]`` (``x_cols`` read in place as a
  stack of (K, P) matrices), so there is no (F, N*H_out*W_out) temporary and no transposing
  pass; the backward reads ``dout[n]`` in place the same way, and forms ``dx_cols`` a block of
  images at a time in one reused buffer folded straight into dx by ``col2im_6d_add``;
* block sizes and when kernels use threads are machine tuning, kept in ``fast_layers.tuning``.

``conv_forward_im2col`` is the classic CS231n variant (columns ordered (y, x, n), one GEMM each
way). Both take the same arguments as :func:`layers.conv_forward_naive` and agree with it to
rounding; ``benchmarks/bench.py`` measures them against the bare GEMMs of the same shapes.

Notation
--------
N : batch size
C : input channels
H, W : input height and width
F : number of filters
HH, WW : filter height and width
H_out, W_out : output height and width (floor semantics, see ``_rules.geometry``)
K : ``C*HH*WW``, the length of one unfolded window
P : ``H_out*W_out``, output pixels per image
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from _rules.cache import param_copy
from _rules.geometry import check_array, check_conv_inputs, check_dout, check_flag, float_dtype
from _rules.resources import require

from . import _budget, tuning
from .buffers import recycling
from ._kernels import HAVE_CYTHON, col2im, col2im_6d_add, im2col, im2col_6d

__all__ = [
    "conv_forward_im2col",
    "conv_backward_im2col",
    "conv_forward_strides",
    "conv_backward_strides",
    "conv_forward_fast",
    "conv_backward_fast",
]


# ---------------------------------------------------------------------------------------------
# Column orders of the two layers' x_cols

def _strides_cols_6d(x_cols, geom):
    """View x_cols of the strides layer as (C, HH, WW, N, H_out, W_out): columns are (n, y, x)."""
    return x_cols.reshape(geom.C, geom.HH, geom.WW, geom.N, geom.H_out, geom.W_out)


def _im2col_cols_6d(x_cols, geom):
    """View x_cols of the im2col layer as (C, HH, WW, N, H_out, W_out): its columns are (y, x, n)."""
    return x_cols.reshape(geom.C, geom.HH, geom.WW, geom.H_out, geom.W_out, geom.N).transpose(0, 1, 2, 5, 3, 4)


# ---------------------------------------------------------------------------------------------
# Validation at the door

def _forward_inputs(x, w, b, conv_param, name, variant):
    """Validate a forward call and budget its memory; return its geometry and x, w, b in the compute dtype.

    w comes back C-contiguous (the GEMM reads it as an (F, K) matrix), a copy only when needed.
    """
    geom = check_conv_inputs(x, w, b, conv_param)
    dtype = float_dtype(x, w, b)
    by_kernel = variant != "strides" or _copy_by_kernel(geom, dtype)
    require(name, _budget.conv_forward(variant, geom, dtype, x, w, b, by_kernel), _shapes(x, w))
    return geom, dtype, np.ascontiguousarray(w, dtype=dtype), b.astype(dtype, copy=False)


def _shapes(x, w):
    return f"x of shape {tuple(x.shape)} and w of shape {tuple(w.shape)}"


def _backward_inputs(dout, cache, producer, variant, cols_6d, other_cols_6d, input_grad):
    """Validate a backward call and budget its memory; return the geometry, dtype, x_cols and w as (F, K).

    ``variant`` ('strides' or 'im2col') selects the buffers of the memory budget;
    ``cols_6d(x_cols, geom)`` views the producer's x_cols as (C, HH, WW, N, H_out, W_out), and
    ``other_cols_6d`` the other fast forward's: how the cache check tells a cache of the other
    layer from an x modified in place after the forward.
    """
    if not isinstance(cache, tuple) or len(cache) != 5:
        raise TypeError(
            f"cache must be the 5-tuple (x, w, b, conv_param, x_cols) returned by {producer}, "
            f"got {type(cache).__name__}" + (f" of length {len(cache)}" if isinstance(cache, tuple) else "")
        )
    x, w, b, conv_param, x_cols = cache
    geom = check_conv_inputs(x, w, b, conv_param, "cache ")
    check_array(x_cols, "cache x_cols")
    dtype = float_dtype(x, w, b)
    if x_cols.shape != geom.cols_shape or x_cols.dtype != dtype:
        raise ValueError(
            f"cache[4] (x_cols) must be a {dtype} array of shape {geom.cols_shape} as made by "
            f"{producer}; got {x_cols.dtype} {x_cols.shape}"
        )
    check_dout(dout, geom.out_shape, f"the output of {producer}")
    require(producer.replace("forward", "backward"),
            _budget.conv_backward(variant, geom, dtype, x, w, dout, tuning.BACKWARD_BLOCK_BYTES, input_grad),
            _shapes(x, w))
    _check_cache_windows(x, x_cols, geom, dtype, producer, cols_6d, other_cols_6d)
    return geom, dtype, x_cols, np.ascontiguousarray(w, dtype=dtype).reshape(geom.F, -1)


def _bits(a):
    """``a`` viewed as unsigned ints of its itemsize: exact copies compare equal bit for bit (NaN too)."""
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def _check_cache_windows(x, x_cols, geom, dtype, producer, cols_6d, other_cols_6d):
    """Refuse an x_cols that does not hold the windows of x in the producer's column order.

    The im2col and strides caches have the same shape and differ only in column order, so one
    could be handed to the other's backward and give a silently wrong dw; and an x changed in
    place after the forward no longer matches the x_cols the gradient would use. The first and
    the last image's windows are recomputed from x by the kernel (exact copies, so compared bit
    for bit), one image at a time: O(K*P) memory, 2/N of x_cols, whatever the padding.
    """
    mine, other = cols_6d(x_cols, geom), other_cols_6d(x_cols, geom)
    windows = np.empty((geom.C, geom.HH, geom.WW, 1, geom.H_out, geom.W_out), dtype=dtype)
    for n in sorted({0, geom.N - 1}):
        im2col_6d(np.ascontiguousarray(x[n:n + 1], dtype=dtype), geom.HH, geom.WW, geom.pad, geom.stride,
                  geom.dilation, out=windows, parallel=False)
        if np.array_equal(_bits(mine[:, :, :, n:n + 1]), _bits(windows)):
            continue
        if geom.N > 1 and np.array_equal(_bits(other[:, :, :, n:n + 1]), _bits(windows)):
            raise ValueError(
                f"cache[4] (x_cols) holds the windows of cache[0] (x) in another layer's column order, not "
                f"{producer}'s: pass the cache that {producer} returned (the im2col and strides caches "
                f"have the same shapes but different column orders)"
            )
        raise ValueError(
            f"cache[0] (x) was modified in place after {producer} (or cache[4] (x_cols) was): image {n} of x "
            f"no longer matches the windows copied into x_cols, so the gradient would mix the old and the "
            f"new x. Run the forward again on the current x, or give the forward a copy (x.copy()) if x "
            f"must change"
        )


# ---------------------------------------------------------------------------------------------
# The strides layer

@recycling
def conv_forward_strides(x, w, b, conv_param):
    """Convolve by copying the padded input's windows into ``x_cols``, then one matrix product.

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
        ``(x, w, b, conv_param, x_cols)``: the forward's own arguments, unmodified, and
        ``x_cols`` of shape (K, N*P), the copy of the window view: rows ordered (c, i, j) and
        columns (n, y, x).
    """
    geom, dtype, wf, bf = _forward_inputs(x, w, b, conv_param, "conv_forward_strides", "strides")
    if _copy_by_kernel(geom, dtype):
        x_cols = _copy_windows_by_kernel(x, geom, dtype)     # the same bits, without the padded image
    else:
        (ph, pw), (sh, sw), (dh, dw) = geom.pad, geom.stride, geom.dilation
        xp = np.zeros((geom.N, geom.C, geom.H + 2 * ph, geom.W + 2 * pw), dtype=dtype)
        xp[:, :, ph:ph + geom.H, pw:pw + geom.W] = x        # zero-padded input
        sN, sC, sH, sW = xp.strides                         # bytes per step along each axis
        # windows[c, i, j, n, y, x] = xp[n, c, y*sh + i*dh, x*sw + j*dw]: a view, nothing copied yet
        windows = as_strided(xp, shape=(geom.C, geom.HH, geom.WW, geom.N, geom.H_out, geom.W_out),
                             strides=(sC, dh * sH, dw * sW, sN, sh * sH, sw * sW), writeable=False)
        x_cols = np.ascontiguousarray(windows).reshape(geom.cols_shape)   # the one copy, (K, N*P)
    out = _gemm_bias_to_nchw(wf.reshape(geom.F, -1), x_cols, bf, geom)
    return out, (x, w, b, param_copy(conv_param), x_cols)


def _copy_by_kernel(geom, dtype):
    """True when ``im2col_6d`` makes x_cols: always when compiled (it is faster), and whenever the
    padded image would be larger than x_cols itself (a pad much wider than the windows' reach)."""
    return HAVE_CYTHON or _budget.padded_x_bytes(geom, dtype) > _budget.x_cols_bytes(geom, dtype)


def _copy_windows_by_kernel(x, geom, dtype):
    """x_cols as (K, N*P), written by ``im2col_6d`` straight from x: zeros where a window meets the padding."""
    x_cols = np.empty(geom.cols_shape, dtype=dtype)
    im2col_6d(np.ascontiguousarray(x, dtype=dtype), geom.HH, geom.WW, geom.pad, geom.stride, geom.dilation,
              out=x_cols.reshape(geom.C, geom.HH, geom.WW, geom.N, geom.H_out, geom.W_out),
              parallel=x_cols.nbytes >= tuning.PARALLEL_KERNEL_BYTES)
    return x_cols


@recycling
def conv_backward_strides(dout, cache, *, input_grad=True):
    """Gradients of :func:`conv_forward_strides`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(x, w, b, conv_param, x_cols)`` from :func:`conv_forward_strides`.
    input_grad : bool, optional
        False skips dx (returned as None): a net's first layer only needs dw and db, and dx
        (a GEMM as large as dw's plus the fold) is most of the backward's time.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None when ``input_grad`` is False
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    input_grad = check_flag(input_grad, "input_grad")
    geom, dtype, x_cols, w2 = _backward_inputs(dout, cache, "conv_forward_strides", "strides", _strides_cols_6d,
                                               _im2col_cols_6d, input_grad)
    # Image n's slice of dout, dout[n] as (F, P), is the output gradient of image n's GEMM as is.
    d3 = np.ascontiguousarray(dout, dtype=dtype).reshape(geom.N, geom.F, -1)
    db = d3.sum(axis=(0, 2))
    dw = _weight_gradient(d3, x_cols, geom).reshape(geom.F, geom.C, geom.HH, geom.WW)
    dx = _fold_column_gradient(w2.T, d3, geom) if input_grad else None
    return dx, dw, db


def _dout_as_columns(dout, dtype, geom, axes):
    """dout (N, F, H_out, W_out) copied into a new (F, N*P) matrix of ``dtype``, its columns in the
    order of ``dout.transpose(axes)``'s last three axes."""
    g2 = np.empty((geom.F, geom.N * geom.H_out * geom.W_out), dtype=dtype)
    np.copyto(g2.reshape(np.transpose(dout, axes).shape), np.transpose(dout, axes), casting="unsafe")
    return g2



def _gemm_bias_to_nchw(w2, x_cols, bias, geom):
    """``out[n] = w2 @ (image n's columns of x_cols) + bias[:, None]``, written straight into ``out``.

    ``x_cols`` viewed as (K, N, P) and transposed to (N, K, P) is a stack of N matrices that BLAS
    can read in place (row stride N*P): ``np.matmul`` runs one GEMM per image into ``out[n]``, so
    the result lands in (N, F, P) order with no (F, N*P) temporary and no transposing pass.
    """
    N, F, P = geom.N, geom.F, geom.H_out * geom.W_out
    out = np.empty(geom.out_shape, dtype=x_cols.dtype)
    out3 = out.reshape(N, F, P)
    np.matmul(w2, x_cols.reshape(-1, N, P).transpose(1, 0, 2), out=out3)
    out3 += bias[:, None]
    return out


def _weight_gradient(d3, x_cols, geom):
    """``dw = sum over images n of dout[n] @ (image n's columns of x_cols).T``, as (F, K).

    When an image has at least as many output pixels as a window has taps (P >= K), one GEMM
    per image reads dout[n] and x_cols (viewed as an (N, P, K) stack) in place, a block of
    images at a time, and each block's products are summed into dw: no transposed copy of dout.
    With few pixels and long windows (deep layers) those per-image products would be large and
    summing them would cost more than the GEMMs, so dout is laid out once as (F, N*P) for one
    GEMM over all columns (``benchmarks/RESULTS.md``, the conv weight gradient).
    """
    N, F, P = d3.shape
    K = x_cols.shape[0]
    if P < K:
        return _dout_as_columns(d3.reshape(geom.out_shape), d3.dtype, geom, (1, 0, 2, 3)) @ x_cols.T
    cols_t = x_cols.reshape(K, N, P).transpose(1, 2, 0)
    nb = _budget.images_per_block(F * K * d3.itemsize, N, tuning.BACKWARD_BLOCK_BYTES)
    per_image = np.empty((nb, F, K), dtype=d3.dtype)
    dw = np.zeros((F, K), dtype=d3.dtype)
    for n0 in range(0, N, nb):
        k = min(nb, N - n0)
        np.matmul(d3[n0:n0 + k], cols_t[n0:n0 + k], out=per_image[:k])
        dw += per_image[:k].sum(axis=0)
    return dw


def _fold_column_gradient(w2t, d3, geom):
    """``dx = col2im(w2t @ dout)``, formed a block of images at a time in one reused buffer.

    The full (K, N*P) column gradient, as large as x_cols, is never allocated: each block's
    per-image products ``w2t @ dout[n]`` are written into the block buffer in x_cols's column
    order and folded straight into that block's slice of dx by ``col2im_6d_add``.
    """
    N, P, K = geom.N, geom.H_out * geom.W_out, w2t.shape[0]
    dtype = d3.dtype
    nb = _budget.images_per_block(K * P * dtype.itemsize, N, tuning.BACKWARD_BLOCK_BYTES)
    cols_buf = np.empty(K * nb * P, dtype=dtype)
    dx = np.zeros((N, geom.C, geom.H, geom.W), dtype=dtype)
    for n0 in range(0, N, nb):
        k = min(nb, N - n0)
        dcols = cols_buf[:K * k * P].reshape(K, k, P)
        np.matmul(w2t, d3[n0:n0 + k], out=dcols.transpose(1, 0, 2))
        col2im_6d_add(dcols.reshape(geom.C, geom.HH, geom.WW, k, geom.H_out, geom.W_out),
                      dx[n0:n0 + k], geom.pad, geom.stride, geom.dilation,
                      parallel=dcols.nbytes >= tuning.PARALLEL_KERNEL_BYTES)
    return dx


# ---------------------------------------------------------------------------------------------
# The classic CS231n im2col layer

@recycling
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
    geom, dtype, wf, bf = _forward_inputs(x, w, b, conv_param, "conv_forward_im2col", "im2col")
    x_cols = im2col(np.ascontiguousarray(x, dtype=dtype), geom.HH, geom.WW, geom.pad, geom.stride, geom.dilation)
    res = wf.reshape(geom.F, -1) @ x_cols
    res += bf[:, None]
    out = res.reshape(geom.F, geom.H_out, geom.W_out, geom.N).transpose(3, 0, 1, 2)
    return np.ascontiguousarray(out), (x, w, b, param_copy(conv_param), x_cols)


@recycling
def conv_backward_im2col(dout, cache, *, input_grad=True):
    """Gradients of :func:`conv_forward_im2col`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(x, w, b, conv_param, x_cols)`` from :func:`conv_forward_im2col`.
    input_grad : bool, optional
        False skips dx (returned as None), as in :func:`conv_backward_strides`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None when ``input_grad`` is False
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    input_grad = check_flag(input_grad, "input_grad")
    geom, dtype, x_cols, w2 = _backward_inputs(dout, cache, "conv_forward_im2col", "im2col", _im2col_cols_6d,
                                               _strides_cols_6d, input_grad)
    # Columns in x_cols's (y, x, n) order.
    g2 = _dout_as_columns(dout, dtype, geom, (1, 2, 3, 0))
    db = g2.sum(axis=1)
    dw = (g2 @ x_cols.T).reshape(geom.F, geom.C, geom.HH, geom.WW)
    if not input_grad:
        return None, dw, db
    dx_cols = w2.T @ g2
    dx = col2im(dx_cols, geom.N, geom.C, geom.H, geom.W, geom.HH, geom.WW,
                geom.pad, geom.stride, geom.dilation)
    return dx, dw, db


# ---------------------------------------------------------------------------------------------
# The recommended entry points

def conv_forward_fast(x, w, b, conv_param):
    """Convolve with cnnkit's recommended layer, :func:`conv_forward_strides`.

    ``conv_forward_im2col`` is never picked: its kernel writes x_cols with a stride of N
    elements, which is slower on every measured shape (``benchmarks/RESULTS.md``).

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
        The strides layer's ``(x, w, b, conv_param, x_cols)``, for :func:`conv_backward_fast`.
    """
    return conv_forward_strides(x, w, b, conv_param)


def conv_backward_fast(dout, cache, *, input_grad=True):
    """Gradients of :func:`conv_forward_fast` (the strides layer's backward).

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        From :func:`conv_forward_fast` or :func:`conv_forward_strides`.
    input_grad : bool, optional
        False skips dx (returned as None), as in :func:`conv_backward_strides`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None when ``input_grad`` is False
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    return conv_backward_strides(dout, cache, input_grad=input_grad)
