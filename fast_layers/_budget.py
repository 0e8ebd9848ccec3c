"""The memory budget of each fast layer call: every large buffer it allocates, listed before the first.

Each function below returns the :class:`_rules.resources.Buffer` list of one public call; the
layer passes it to ``_rules.resources.require``, which raises ``MemoryError`` (naming the bytes
and shapes) when the buffers together cannot fit in the available memory. A call needs its
inputs' copies (the strides forward: x zero-padded), its output, ``x_cols`` and block buffers,
and nothing else of size. ``tests/fast_layers/test_budget.py`` measures the peak of every
path (tracemalloc) over random geometries and checks that it stays within these lists.

Notation as in ``fast_layers.conv``: K = C*HH*WW, P = H_out*W_out.
"""

from __future__ import annotations

import numpy as np

from _rules.resources import Buffer

__all__ = ["images_per_block", "conv_forward", "conv_backward", "pool_forward", "relu_pool_forward", "pool_backward",
           "pool_reshape_forward", "pool_reshape_backward", "pool_im2col_forward", "pool_im2col_backward"]

_BOOL = np.dtype(bool)
_INDEX = np.dtype(np.intp)


def images_per_block(bytes_per_image, N, budget):
    """Number of images whose per-image buffers of ``bytes_per_image`` fit in ``budget`` bytes (>= 1)."""
    return int(min(N, max(1, budget // max(1, bytes_per_image))))


def _contiguous_copy(a, dtype, what):
    """The C-contiguous copy of ``a`` in ``dtype`` a kernel or a reshape makes, or nothing if ``a`` is one."""
    if a.flags.c_contiguous and a.dtype == dtype:
        return []
    return [Buffer(f"a C-contiguous {np.dtype(dtype)} copy of {what}", a.shape, dtype)]


def _cast(a, dtype, what):
    """The copy ``a.astype(dtype, copy=False)`` makes when the dtypes differ."""
    return [] if a.dtype == dtype else [Buffer(f"{what} cast to {np.dtype(dtype)}", a.shape, dtype)]


def _padded_shape(geom):
    return (geom.N, geom.C, geom.H + 2 * geom.pad[0], geom.W + 2 * geom.pad[1])


def padded_x_bytes(geom, dtype):
    """Bytes of x zero-padded, (N, C, H + 2*pad_h, W + 2*pad_w)."""
    return int(np.prod(_padded_shape(geom), dtype=object)) * np.dtype(dtype).itemsize


def x_cols_bytes(geom, dtype):
    """Bytes of x_cols, (K, N*P)."""
    return geom.cols_shape[0] * geom.cols_shape[1] * np.dtype(dtype).itemsize


def conv_forward(variant, geom, dtype, x, w, b, by_kernel=True):
    """Buffers of ``conv_forward_<variant>`` ('strides' or 'im2col').

    The strides forward copies x into a zero-padded array for its window view, unless a kernel
    makes x_cols (``by_kernel``), and writes its per-image GEMMs straight into ``out``; the im2col
    forward makes the (F, N*P) product first and transposes it.
    """
    F, NP = geom.F, geom.N * geom.H_out * geom.W_out
    buffers = (_contiguous_copy(w, dtype, "w") + _cast(b, dtype, "b")
               + [Buffer("x_cols", geom.cols_shape, dtype), Buffer("out", geom.out_shape, dtype)])
    if variant == "strides" and not by_kernel:
        return buffers + [Buffer("the zero-padded x", _padded_shape(geom), dtype)]
    buffers += _contiguous_copy(x, dtype, "x")
    if variant == "strides":
        return buffers
    return buffers + [
        Buffer("the GEMM result (F, N*P) before its transpose", (F, NP), dtype)]


def cache_check(geom, dtype, x):
    """Buffers of the backward's check that x_cols holds x's windows (one image at a time)."""
    K, P = geom.cols_shape[0], geom.H_out * geom.W_out
    one_image = x[:1]
    return (_contiguous_copy(one_image, dtype, "one image of x")
            + [Buffer("one image's windows", (K, P), dtype), Buffer("their comparison with x_cols", (K, P), _BOOL)])


def conv_backward(variant, geom, dtype, x, w, dout, block_bytes, input_grad=True):
    """Buffers of ``conv_backward_<variant>``; ``block_bytes``: the strides layer's per-block budget
    (``tuning.BACKWARD_BLOCK_BYTES``), which sets its images per block.

    Without ``input_grad`` there is no dx and no column gradient.
    """
    F, K, P = geom.F, geom.cols_shape[0], geom.H_out * geom.W_out
    itemsize = np.dtype(dtype).itemsize
    dw_block = images_per_block(F * K * itemsize, geom.N, block_bytes)
    cols_block = images_per_block(K * P * itemsize, geom.N, block_bytes)
    buffers = (cache_check(geom, dtype, x) + _contiguous_copy(w, dtype, "w")
               + [Buffer("dw", (F, K), dtype), Buffer("db", (F,), dtype)])
    if variant == "strides":
        buffers += _contiguous_copy(dout, dtype, "dout")
        buffers += ([Buffer("dout as (F, N*P)", (F, geom.N * P), dtype)] if P < K else
                    [Buffer("a block's per-image weight gradients", (dw_block, F, K), dtype),
                     Buffer("their sum", (F, K), dtype)])
    else:
        buffers += _cast(dout, dtype, "dout") + [Buffer("dout as (F, N*P)", (F, geom.N * P), dtype)]
    if not input_grad:
        return buffers
    buffers.append(Buffer("dx", (geom.N, geom.C, geom.H, geom.W), dtype))
    if variant == "strides":
        return buffers + [Buffer("the column-gradient block", (K, cols_block * P), dtype)]
    return buffers + [Buffer("the column gradient dx_cols", geom.cols_shape, dtype)]


def pool_forward(geom, dtype, x):
    """Buffers of ``max_pool_forward_fast`` / ``avg_pool_forward_fast`` (compiled kernel or numpy twin)."""
    return (_contiguous_copy(x, dtype, "x")
            + [Buffer("out", geom.out_shape, dtype), Buffer("one window position's reduction", (geom.N, geom.C), dtype)])


def relu_pool_forward(geom, dtype, x):
    """Buffers of ``relu_max_pool_forward``: the max pool's, and the numpy twin's mask of the
    windows whose maximum is not positive (the compiled kernel needs no mask)."""
    return pool_forward(geom, dtype, x) + [Buffer("the non-positive windows' mask", geom.out_shape, _BOOL)]


def pool_backward(kind, geom, dtype, x, dout):
    """Buffers of ``<kind>_pool_backward_fast``.

    The compiled kernels allocate only dx; the budget also holds what their numpy twins use, so it
    is a bound for both: the average pool's ``dout / K``, and for the max pool the recomputed
    maxima, the routed gradient and six boolean masks (offset loop) or one window position's copy
    and index arrays (per-window loop).
    """
    out, NC = geom.out_shape, (geom.N, geom.C)
    buffers = _contiguous_copy(dout, dtype, "dout") + [Buffer("dx", (geom.N, geom.C, geom.H, geom.W), dtype)]
    if kind == "avg":
        return buffers + [Buffer("dout / K", out, dtype)]
    return (buffers + _contiguous_copy(x, dtype, "x")
            + [Buffer("the recomputed maxima", out, dtype), Buffer("the routed gradient", out, dtype),
               Buffer("the window masks", (6,) + out, _BOOL),
               Buffer("one window position's copy", NC + (geom.HH * geom.WW,), dtype),
               Buffer("its argmax and index arrays", (8,) + NC, _INDEX)])


def _x_copies(x, dtype, what="x"):
    """A cast of ``x`` and a C-contiguous copy of it: a reshape of a cast non-contiguous x copies twice."""
    return _cast(x, dtype, what) + _contiguous_copy(x, dtype, what)


def pool_reshape_forward(geom, dtype, x):
    """Buffers of ``max_pool_forward_reshape``: x's copies, the max over window rows, out."""
    N, C, H_out, W_out = geom.out_shape
    return _x_copies(x, dtype) + [Buffer("the max over each window's rows", (N, C, H_out, W_out * geom.WW), dtype),
                                  Buffer("out", geom.out_shape, dtype)]


def pool_reshape_backward(x_shape, out_shape, dtype, dout):
    """Buffers of ``max_pool_backward_reshape``: the window masks, the ties' counts, the shares, dx."""
    return (_cast(dout, dtype, "dout")
            + [Buffer("the window-maximum mask", x_shape, _BOOL), Buffer("the ties per window", out_shape, _INDEX),
               Buffer("each window's share of dout", out_shape, dtype), Buffer("dx", x_shape, dtype)])


def _im2col_index_buffers(geom):
    """The index arrays of :func:`im2col.get_im2col_indices` (meshgrids and the two broadcast sums)."""
    K, P = geom.HH * geom.WW, geom.H_out * geom.W_out
    return [Buffer("im2col's row and column indices", (2, K, P), _INDEX),
            Buffer("im2col's meshgrids", (6, max(K, P)), _INDEX)]


def pool_im2col_forward(geom, dtype, x):
    """Buffers of ``max_pool_forward_im2col``: x's copies and its padded copy, the gathered windows,
    ``x_cols`` (HH*WW, H_out*W_out*N*C), the argmax row per column, the maxima and their column indices."""
    K, n_cols = geom.HH * geom.WW, geom.H_out * geom.W_out * geom.N * geom.C
    return (_x_copies(x, dtype) + _im2col_index_buffers(geom)
            + [Buffer("x padded by im2col (pad 0)", (geom.N, geom.C, geom.H, geom.W), dtype),
               Buffer("the gathered windows", (K, n_cols), dtype), Buffer("x_cols", (K, n_cols), dtype),
               Buffer("the argmax of each column", (n_cols,), _INDEX), Buffer("the column indices", (n_cols,), _INDEX),
               Buffer("the maxima", (n_cols,), dtype)])


def pool_im2col_backward(geom, dtype, dout):
    """Buffers of ``max_pool_backward_im2col``: the column gradient, dout as a row, col2im's image and indices."""
    K, n_cols = geom.HH * geom.WW, geom.H_out * geom.W_out * geom.N * geom.C
    x_shape = (geom.N, geom.C, geom.H, geom.W)
    return (_im2col_index_buffers(geom)
            + [Buffer("the column gradient dx_cols", (K, n_cols), dtype),
               Buffer("the column indices", (n_cols,), _INDEX), Buffer("dout as one row", (n_cols,), dout.dtype),
               Buffer("col2im's image", x_shape, np.result_type(dtype, np.float32)), Buffer("dx", x_shape, dtype)])
