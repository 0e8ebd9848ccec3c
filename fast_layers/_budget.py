"""The memory budget of each fast layer call: every large buffer it allocates, listed before the first.

Each function below returns the :class:`_rules.resources.Buffer` list of one public call; the
layer passes it to ``_rules.resources.require``, which raises ``MemoryError`` (naming the bytes
and shapes) when the buffers together cannot fit in the available memory. Nothing here grows
with the padding: no path builds a padded copy of x (the kernels and their numpy twins write
windows straight from x), so a call needs its inputs' copies, its output, ``x_cols`` and block
buffers, and nothing else of size. ``tests/test_hardening_budget.py`` measures the peak of every
path (tracemalloc) over random geometries and checks that it stays within these lists.

Notation as in ``fast_layers.conv``: K = C*HH*WW, P = H_out*W_out.
"""

from __future__ import annotations

import numpy as np

from _rules.resources import Buffer

__all__ = ["images_per_block", "conv_forward", "conv_backward", "pool_forward", "relu_pool_forward", "pool_backward",
           "pool_reshape_forward", "pool_reshape_backward", "pool_im2col_forward", "pool_im2col_backward",
           "winograd_forward", "winograd_backward"]

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


def conv_forward(variant, geom, dtype, x, w, b):
    """Buffers of ``conv_forward_<variant>`` ('strides' or 'im2col').

    The strides forward writes its per-image GEMMs straight into ``out``; the im2col forward
    makes the (F, N*P) product first and transposes it.
    """
    F, NP = geom.F, geom.N * geom.H_out * geom.W_out
    buffers = (_contiguous_copy(x, dtype, "x") + _contiguous_copy(w, dtype, "w") + _cast(b, dtype, "b")
               + [Buffer("x_cols", geom.cols_shape, dtype), Buffer("out", geom.out_shape, dtype)])
    if variant == "strides":
        return buffers
    return buffers + [Buffer("the GEMM result (F, N*P) before its transpose", (F, NP), dtype)]


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


# Winograd (fast_layers.winograd): m the output tile, alpha = m + 2, (th, tw) tiles per image,
# ``block`` images per block. The compiled tile kernels allocate one scratch row of windows per
# thread; their numpy twins a zero canvas under the block's windows and the windows half and
# fully transformed, which the lists below include so that they bound both.

def _filter_transform(geom, w, dtype, alpha):
    """w in float64 (unless it is), G @ w, G @ w @ G.T in float64, and U in ``dtype``."""
    F, C, f64 = geom.F, geom.C, np.dtype(np.float64)
    return (_cast(w, f64, "w") + [Buffer("G @ w", (F, C, alpha, 3), f64),
                                  Buffer("G @ w @ G.T", (F, C, alpha, alpha), f64),
                                  Buffer("U", (alpha * alpha, F, C), dtype)])


def _tile_kernel(what, images, planes, tiles, r, s, tile, dtype):
    """What one tile-kernel call holds beyond its input and output (the numpy twin's buffers, a bound
    of the compiled kernel's scratch row): an (r, s) transform of s x s windows one ``tile`` apart."""
    th, tw = tiles
    canvas = (images, planes, (th - 1) * tile + s, (tw - 1) * tile + s)
    return [Buffer(f"{what}: the zero canvas under the windows", canvas, dtype),
            Buffer(f"{what}: the windows half transformed", (images, planes, th, tw, max(r, s), max(r, s)), dtype),
            Buffer(f"{what}: the windows transformed", (images, planes, th, tw, max(r, s), max(r, s)), dtype)]


def _tile_blocks(geom, dtype, alpha, tiles, block):
    T = block * tiles[0] * tiles[1]
    return [Buffer("the block's input-side tiles", (alpha * alpha, geom.C, T), dtype),
            Buffer("the block's output-side tiles", (alpha * alpha, geom.F, T), dtype)]


def winograd_forward(geom, dtype, x, w, b, m, tiles, block):
    """Buffers of ``conv_forward_winograd``."""
    alpha = m + 2
    return (_contiguous_copy(x, dtype, "x") + _cast(b, dtype, "b") + _filter_transform(geom, w, dtype, alpha)
            + [Buffer("out", geom.out_shape, dtype)] + _tile_blocks(geom, dtype, alpha, tiles, block)
            + _tile_kernel("x's tiles", block, geom.C, tiles, alpha, alpha, m, dtype)
            + _tile_kernel("out's tiles", block, geom.F, tiles, alpha, m, m, dtype))


def winograd_backward(geom, dtype, x, w, dout, m, tiles, block, input_grad=True):
    """Buffers of ``conv_backward_winograd`` (without ``input_grad``, no dx and no fold onto it)."""
    alpha = m + 2
    buffers = (_contiguous_copy(x, dtype, "x") + _contiguous_copy(dout, dtype, "dout")
               + _filter_transform(geom, w, dtype, alpha)
               + [Buffer("dU and one block's share of it", (2, alpha * alpha, geom.F, geom.C), dtype),
                  Buffer("G.T @ dU, its transpose for the second product, and dw", (geom.F, geom.C, 6 * alpha + 18),
                         np.float64),
                  Buffer("db", (geom.F,), dtype)]
               + _tile_blocks(geom, dtype, alpha, tiles, block)
               # one tile kernel at a time: x's windows and dx's (C planes) or dout's (F planes, smaller windows)
               + _tile_kernel("a tile kernel", block, max(geom.C, geom.F), tiles, alpha, alpha, m, dtype))
    if input_grad:
        buffers.append(Buffer("dx", (geom.N, geom.C, geom.H, geom.W), dtype))
    return buffers
