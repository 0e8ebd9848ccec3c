"""Fast 2-D convolution: unfold the input's windows into a matrix ``x_cols``, then matrix products.

Two variants: ``im2col`` (the classic CS231n column order, one GEMM each way) and ``strides``
(column order (n, y, x), blocked GEMMs that write the output and dx in place; the recommended
one, exported as ``conv_forward_fast``). Both take the same arguments as
:func:`layers.conv_forward_naive` and agree with it to rounding. ``benchmarks/bench.py`` measures
them against the bare GEMMs of the same shapes.

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
from layers._resources import check_allocation

from ._kernels import col2im, col2im_6d_add, im2col, im2col_6d

__all__ = [
    "conv_forward_im2col",
    "conv_backward_im2col",
    "conv_forward_strides",
    "conv_backward_strides",
    "conv_forward_fast",
    "conv_backward_fast",
]


def _forward_inputs(x, w, b, conv_param, name):
    """Validate a forward call and its memory needs; return its geometry and x, w, b in the compute dtype."""
    check_array(x, "x", 4, "(N, C, H, W)")
    check_array(w, "w", 4, "(F, C, HH, WW)")
    check_array(b, "b")
    geom = conv_geometry(x.shape, w.shape, conv_param)
    if b.shape != (geom.F,):
        raise ValueError(f"b must have shape (F,) = ({geom.F},), one bias per filter, got shape {b.shape}")
    dtype = float_dtype(x, w, b)
    _check_x_cols(geom, dtype, x, w, name)
    # astype(copy=False) returns the caller's own array when no cast is needed; it is only read.
    return geom, dtype, x.astype(dtype, copy=False), w.astype(dtype, copy=False), b.astype(dtype, copy=False)


def _check_x_cols(geom, dtype, x, w, name):
    """Refuse (MemoryError) an x_cols buffer, or a contiguous copy of x, the machine cannot hold.

    The kernels read x as a C-contiguous array, so a non-contiguous x (a slice, or a broadcast
    view of a batch that occupies almost no memory) is copied first; that copy is checked too.
    """
    nbytes = geom.cols_shape[0] * geom.cols_shape[1] * dtype.itemsize
    check_allocation(nbytes, f"{name}: x_cols of shape {geom.cols_shape} ({dtype}) for x of shape "
                             f"{tuple(x.shape)} and w of shape {tuple(w.shape)}")
    if not x.flags.c_contiguous or x.dtype != dtype:
        check_allocation(x.size * dtype.itemsize, f"{name}: a C-contiguous copy of x in {dtype} (shape "
                                                  f"{tuple(x.shape)}) for the im2col kernel")


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
    _check_cache_layout(x, x_cols, geom, dtype, name)
    return geom, dtype, x, w, x_cols, dout.astype(dtype, copy=False)


def _image_windows(x, n, geom, dtype):
    """Windows of image n, shape (C, HH, WW, H_out, W_out): one image's worth of x_cols, recomputed."""
    ph, pw = geom.pad
    xp = np.pad(np.asarray(x[n], dtype=dtype), ((0, 0), (ph, ph), (pw, pw)))
    sC, sH, sW = xp.strides
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    return as_strided(xp, shape=(geom.C, geom.HH, geom.WW, geom.H_out, geom.W_out),
                      strides=(sC, dh * sH, dw * sW, sh * sH, sw * sW), writeable=False)


def _check_cache_layout(x, x_cols, geom, dtype, name):
    """Refuse an x_cols whose columns are not in this layer's (n, y, x) or (y, x, n) order.

    The im2col and strides caches have the same shape and differ only in column order, so one
    could be handed to the other's backward and give a silently wrong dw. The first and the last
    image's columns are compared with windows recomputed from x (exact copies, so equality is
    exact): 2/N of x_cols, a small cost next to the backward's GEMMs.
    """
    N, P = geom.N, geom.H_out * geom.W_out
    cols = x_cols.reshape(geom.C, geom.HH, geom.WW, N, geom.H_out, geom.W_out) if name == "strides" else \
        x_cols.reshape(geom.C, geom.HH, geom.WW, geom.H_out, geom.W_out, N).transpose(0, 1, 2, 5, 3, 4)
    for n in sorted({0, N - 1}):
        if not np.array_equal(cols[:, :, :, n], _image_windows(x, n, geom, dtype), equal_nan=True):
            raise ValueError(
                f"cache[4] (x_cols) does not hold the windows of cache[0] (x) in the column order of "
                f"conv_forward_{name}; pass the cache that conv_forward_{name} returned (the im2col "
                f"and strides caches have the same shapes but different column orders)"
            )


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
    geom, dtype, xf, wf, bf = _forward_inputs(x, w, b, conv_param, "conv_forward_im2col")
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


# Budget for the backward's column-gradient buffer, reused for every block of images. It bounds
# the extra memory (the full column gradient is as large as x_cols) while keeping each GEMM large:
# every GEMM call and parallel kernel ends in a barrier of the BLAS / OpenMP threads, and on a busy
# machine each barrier can cost a scheduler time slice, so few large blocks beat many small ones.
# Case B float64, column-gradient GEMMs + col2im under load (best of 5): 4 MiB blocks 2.2 s,
# 18 MiB 0.81 s, 36 MiB 0.52 s, 72 MiB 0.42 s.
_BACKWARD_BLOCK_BYTES = 64 << 20


# Kernels touching fewer bytes than this run on the calling thread only. Two thread pools share
# the two cores: after a GEMM, OpenBLAS's idle worker keeps spinning for a while, and after a
# parallel loop so do the idle OpenMP threads (libgomp's default wait policy). A parallel kernel
# right after a GEMM therefore waits for a core the BLAS worker holds, and the GEMM after a
# parallel kernel waits for one an OpenMP thread holds. Measured (ms, best / median of 7-9
# interleaved rounds): case A float64, first GEMM after the parallel im2col 3.5 median instead
# of 0.43; case B float64 backward 214 / 282 parallel vs 187 / 214 serial, float32 124 / 144 vs
# 107 / 113; B float32 forward 79 / 87 vs 68 / 78. So only very large kernels, where splitting
# the work outweighs that wait, use the OpenMP threads.
_PARALLEL_KERNEL_BYTES = 1 << 30


def _images_per_block(bytes_per_image, N, budget):
    """Number of images whose per-image buffers of ``bytes_per_image`` fit in ``budget`` bytes."""
    return int(min(N, max(1, budget // max(1, bytes_per_image))))


# The forward's final block of images goes through a buffer of at most this many bytes (see
# _forward_blocks); it is the only extra memory the forward allocates besides x_cols and out.
_FORWARD_TAIL_BYTES = 4 << 20


def _forward_blocks(N, bytes_per_image):
    """Split N images into blocks of sizes N//2, then half the rest, ..., and a final tail block.

    Every block before the tail is no larger than the images after it, so its GEMM result can be
    parked in the part of ``out`` those later images will occupy; the tail (as many images as fit
    in ``_FORWARD_TAIL_BYTES``, at least one) goes through its own small buffer. Small problems
    are thus one GEMM, large ones a handful, never one per image.
    """
    tail = _images_per_block(bytes_per_image, N, _FORWARD_TAIL_BYTES)
    sizes, rest = [], N
    while rest > tail:
        sizes.append(rest // 2)
        rest -= rest // 2
    sizes.append(rest)
    return sizes


def conv_forward_strides(x, w, b, conv_param):
    """Convolve by unfolding the padded input's windows into ``x_cols``, then blocked matrix products.

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

    Notes
    -----
    ``x_cols`` is filled by the ``im2col_6d`` kernel straight from ``x`` (the padding is never
    materialized). The product ``w @ x_cols`` is then taken a block of images at a time (blocks
    of N/2, N/4, ... images), each block's (F, k*P) result parked in the part of ``out`` that
    later images will fill and then written to its own images in (N, F, ...) order with the bias
    added in the same pass. Apart from ``x_cols`` and ``out`` the call allocates one buffer of
    at most 4 MiB (or one image's output, if larger) for the last block.
    """
    geom, dtype, xf, wf, bf = _forward_inputs(x, w, b, conv_param, "conv_forward_strides")
    N, F, P = geom.N, geom.F, geom.H_out * geom.W_out
    K = geom.C * geom.HH * geom.WW
    x_cols = np.empty(geom.cols_shape, dtype=dtype)
    im2col_6d(xf, geom.HH, geom.WW, geom.pad, geom.stride, geom.dilation,
              out=x_cols.reshape(geom.C, geom.HH, geom.WW, N, geom.H_out, geom.W_out),
              parallel=x_cols.nbytes >= _PARALLEL_KERNEL_BYTES)
    w2 = wf.reshape(F, K)
    out = np.empty(geom.out_shape, dtype=dtype)
    out3 = out.reshape(N, F, P)
    bias = bf[:, None]
    out_flat = out.reshape(-1)
    blocks = _forward_blocks(N, F * P * dtype.itemsize)
    tail = np.empty(F * blocks[-1] * P, dtype=dtype)
    n0 = 0
    for k in blocks:
        # The GEMM writes (F, k*P) into the not-yet-written images after this block (the tail
        # block uses its own buffer); one pass then transposes it into this block's images as
        # (k, F, P) and adds the bias.
        if n0 + k < N:
            res = out_flat[(n0 + k) * F * P:(n0 + 2 * k) * F * P].reshape(F, k * P)
        else:
            res = tail.reshape(F, k * P)
        np.matmul(w2, x_cols[:, n0 * P:(n0 + k) * P], out=res)
        np.add(res.reshape(F, k, P).transpose(1, 0, 2), bias, out=out3[n0:n0 + k])
        n0 += k
    return out, (x, w, b, conv_param, x_cols)


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

    Notes
    -----
    ``dout`` is laid out once as an (F, N*P) matrix ``g2`` whose columns match those of ``x_cols``,
    so dw is a single GEMM ``g2 @ x_cols.T`` (no transposed copy of x_cols). The column gradient
    ``w.T @ g2`` is then formed a block of images at a time in a reused buffer and folded straight
    into that block's slice of dx by the ``col2im_6d_add`` kernel: the full (K, N*P) column
    gradient, as large as x_cols, is never allocated.
    """
    geom, dtype, x, w, x_cols, g = _backward_inputs(dout, cache, "strides")
    N, F, P = geom.N, geom.F, geom.H_out * geom.W_out
    K = geom.C * geom.HH * geom.WW
    g2 = np.empty((F, N * P), dtype=dtype)
    np.copyto(g2.reshape(F, N, P), g.reshape(N, F, P).transpose(1, 0, 2))
    db = g2.sum(axis=1)
    dw = (g2 @ x_cols.T).reshape(w.shape)
    w2t = w.astype(dtype, copy=False).reshape(F, K).T
    nb = _images_per_block(K * P * dtype.itemsize, N, _BACKWARD_BLOCK_BYTES)
    cols_buf = np.empty(K * nb * P, dtype=dtype)
    dx = np.zeros((N, geom.C, geom.H, geom.W), dtype=dtype)
    for n0 in range(0, N, nb):
        k = min(nb, N - n0)
        dcols = cols_buf[: K * k * P].reshape(K, k * P)
        np.matmul(w2t, g2[:, n0 * P:(n0 + k) * P], out=dcols)
        col2im_6d_add(dcols.reshape(geom.C, geom.HH, geom.WW, k, geom.H_out, geom.W_out),
                      dx[n0:n0 + k], geom.pad, geom.stride, geom.dilation,
                      parallel=dcols.nbytes >= _PARALLEL_KERNEL_BYTES)
    return dx, dw, db


# The recommended entry points: the strides path is the faster of the two on every shape measured.
conv_forward_fast = conv_forward_strides
conv_backward_fast = conv_backward_strides
