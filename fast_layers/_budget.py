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

__all__ = ["images_per_block", "conv_forward", "conv_backward", "pool_forward", "pool_backward"]

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


def conv_forward(variant, geom, dtype, x, w, b, tail_images=0):
    """Buffers of ``conv_forward_<variant>`` ('strides' or 'im2col').

    ``tail_images``: images in the strides forward's last GEMM block (its own small buffer).
    """
    F, NP = geom.F, geom.N * geom.H_out * geom.W_out
    buffers = (_contiguous_copy(x, dtype, "x") + _contiguous_copy(w, dtype, "w") + _cast(b, dtype, "b")
               + [Buffer("x_cols", geom.cols_shape, dtype), Buffer("out", geom.out_shape, dtype)])
    if variant == "strides":
        return buffers + [Buffer("the last GEMM block", (F, tail_images * geom.H_out * geom.W_out), dtype)]
    return buffers + [Buffer("the GEMM result (F, N*P) before its transpose", (F, NP), dtype)]


def cache_check(geom, dtype, x):
    """Buffers of the backward's check that x_cols holds x's windows (one image at a time)."""
    K, P = geom.cols_shape[0], geom.H_out * geom.W_out
    one_image = x[:1]
    return (_contiguous_copy(one_image, dtype, "one image of x")
            + [Buffer("one image's windows", (K, P), dtype), Buffer("their comparison with x_cols", (K, P), _BOOL)])


def conv_backward(variant, geom, dtype, x, w, dout, block_images=0):
    """Buffers of ``conv_backward_<variant>``; ``block_images``: images per column-gradient block (strides)."""
    F, K, P = geom.F, geom.cols_shape[0], geom.H_out * geom.W_out
    buffers = (cache_check(geom, dtype, x) + _cast(dout, dtype, "dout")
               + [Buffer("dout as (F, N*P)", (F, geom.N * P), dtype), Buffer("dw", (F, K), dtype),
                  Buffer("db", (F,), dtype)]
               + _contiguous_copy(w, dtype, "w")
               + [Buffer("dx", (geom.N, geom.C, geom.H, geom.W), dtype)])
    if variant == "strides":
        return buffers + [Buffer("the column-gradient block", (K, block_images * P), dtype)]
    return buffers + [Buffer("the column gradient dx_cols", geom.cols_shape, dtype)]


def pool_forward(geom, dtype, x):
    """Buffers of ``max_pool_forward_fast`` / ``avg_pool_forward_fast`` (compiled kernel or numpy twin)."""
    return (_contiguous_copy(x, dtype, "x")
            + [Buffer("out", geom.out_shape, dtype), Buffer("one window position's reduction", (geom.N, geom.C), dtype)])


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
