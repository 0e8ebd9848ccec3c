"""Fast 2-D max and average pooling, for every valid pooling configuration.

Same arguments, caches and results as the naive references in ``layers.pool``, including the
tie rule of max pooling: the gradient of a window goes to the FIRST maximal element in
row-major window order (what ``np.argmax`` of the flattened window picks; a NaN counts as the
maximum, and the first NaN of a window gets its gradient).

Each function validates its arguments here, then calls one compiled kernel
(``im2col_cython.max_pool_forward_cython`` and friends, or their numpy twins in
``fast_layers._kernels_numpy`` when the extension is not built). The kernels work one (n, c)
plane at a time, in one pass: the max-pool backward finds each window's first maximum again
from x while it writes that plane of dx (the cache stays ``(x, pool_param)``, interchangeable
with the naive layer's, and holds nothing a caller could alter).

Notation
--------
N : batch size
C : channels
H, W : input height and width
HH, WW : pooling window height and width
H_out, W_out : output height and width (floor semantics, see ``_rules.geometry``)
"""

from __future__ import annotations

import numpy as np

from _rules.cache import param_copy, unpack_cache
from _rules.geometry import check_array, check_dout, float_dtype, pool_geometry
from _rules.resources import require

from . import _budget, tuning
from ._kernels import avg_pool_backward, avg_pool_forward, max_pool_backward, max_pool_forward
from .buffers import recycling

__all__ = [
    "max_pool_forward_fast",
    "max_pool_backward_fast",
    "avg_pool_forward_fast",
    "avg_pool_backward_fast",
]


def _forward_inputs(x, pool_param, name, budget=_budget.pool_forward):
    """Validate a forward call and budget its memory; return x (C-contiguous, in its float dtype), the
    geometry and the kernel's window arguments."""
    check_array(x, "x", 4, "(N, C, H, W)")
    geom = pool_geometry(x.shape, pool_param)
    dtype = float_dtype(x)
    require(name, budget(geom, dtype, x), f"x of shape {tuple(x.shape)}")
    return np.ascontiguousarray(x, dtype=dtype), geom, (geom.HH, geom.WW, geom.stride)


def _backward_inputs(dout, cache, producer):
    """Validate a backward call and budget its memory; return x (None for the average pool, which
    needs only its shape), dout (C-contiguous, in the compute dtype), geometry and window arguments."""
    x, pool_param = unpack_cache(cache, ("x", "pool_param"), producer)
    check_array(x, "cache x", 4, "(N, C, H, W)")
    geom = pool_geometry(x.shape, pool_param)
    check_dout(dout, geom.out_shape, f"the output of {producer}")
    dtype = float_dtype(x)
    kind = producer.split("_")[0]
    require(producer.replace("forward", "backward"), _budget.pool_backward(kind, geom, dtype, x, dout),
            f"x of shape {tuple(x.shape)}")
    xf = np.ascontiguousarray(x, dtype=dtype) if kind == "max" else None
    return xf, np.ascontiguousarray(dout, dtype=dtype), geom, (geom.HH, geom.WW, geom.stride)


def _parallel(geom, itemsize):
    """Whether the kernel uses the OpenMP threads (see ``tuning.PARALLEL_KERNEL_BYTES``)."""
    return geom.N * geom.C * geom.H * geom.W * itemsize >= tuning.PARALLEL_KERNEL_BYTES


@recycling
def max_pool_forward_fast(x, pool_param):
    """Take the maximum of each pooling window (fast; same results as the naive version).

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
    xf, geom, window = _forward_inputs(x, pool_param, "max_pool_forward_fast")
    return max_pool_forward(xf, *window, parallel=_parallel(geom, xf.itemsize)), (x, param_copy(pool_param))


@recycling
def max_pool_backward_fast(dout, cache):
    """Gradient of :func:`max_pool_forward_fast`: each window's gradient goes to its first maximum.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, pool_param)`` from :func:`max_pool_forward_fast` (or :func:`layers.max_pool_forward_naive`).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        One array, not a tuple.
    """
    xf, g, geom, window = _backward_inputs(dout, cache, "max_pool_forward_fast")
    return max_pool_backward(xf, g, *window, parallel=_parallel(geom, xf.itemsize))


def _relu_gives_positive_zero(dtype):
    """Whether numpy's ReLU (``np.maximum(v, 0)``, as ``layers.relu_forward`` applies it) gives +0.0
    for every v <= 0, -0.0 included, in its vector loop, its scalar tail and a strided pass."""
    probe = np.array([-0.0, -1.0, 0.0, -np.inf, -np.finfo(dtype).tiny] * 27, dtype=dtype)  # 135 values
    results = [np.maximum(probe, 0), np.maximum(probe[:1], 0), np.maximum(probe[::3], 0),
               np.maximum(probe[1:4], 0, out=np.empty(3, dtype))]
    return all(r.dtype == dtype and not np.signbit(r).any() and not r.any() for r in results)


# dtype -> whether the ReLU of relu_max_pool_forward can be written by the kernel (see below).
_RELU_ZERO_IS_POSITIVE = {np.dtype(t): _relu_gives_positive_zero(t) for t in (np.float32, np.float64)}


@recycling
def relu_max_pool_forward(a, pool_param):
    """Apply a ReLU, then :func:`max_pool_forward_fast`, with the ReLU done on the pooled output.

    Equal, bit for bit, to ``max_pool_forward_fast(layers.relu_forward(a)[0], pool_param)``, NaN and
    -0.0 included, without making the ReLU's full-size output. The ReLU is monotonic, so it
    commutes with the maximum: a window whose maximum is positive (or NaN) pools to the same
    value either way. A window whose maximum is <= 0 is all zeros after the ReLU, and the pool's
    first-maximum rule picks its FIRST zero. Where numpy's ReLU makes every such zero +0.0
    (checked once per dtype at import: true of numpy on x86-64) the kernel writes +0.0 there
    itself; otherwise it gives the window's first element of ``a`` and numpy's own ReLU, applied
    to the pooled output, turns it into that very zero. Used by ``layer_utils.conv_relu_pool_forward``.

    Parameters
    ----------
    a : ndarray, shape (N, C, H, W)
        The ReLU's input.
    pool_param : dict
        As for :func:`max_pool_forward_fast`.

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
        In the floating dtype of a.
    cache : tuple
        ``(a, pool_param)`` (a copy of pool_param), for :func:`relu_max_pool_backward`.
    """
    af, geom, window = _forward_inputs(a, pool_param, "relu_max_pool_forward", _budget.relu_pool_forward)
    parallel = _parallel(geom, af.itemsize)
    if _RELU_ZERO_IS_POSITIVE[af.dtype]:
        out = max_pool_forward(af, *window, parallel=parallel, zero_if_nonpositive=True)
    else:
        out = max_pool_forward(af, *window, parallel=parallel, first_if_nonpositive=True)
        np.maximum(out, 0, out=out)  # the ufunc layers.relu_forward applies, on the pooled output
    return out, (a, param_copy(pool_param))


@recycling
def relu_max_pool_backward(dout, pool_cache):
    """Gradient through a ReLU followed by :func:`max_pool_forward_fast`, in one pass.

    Equal, bit for bit, to ``relu_backward(max_pool_backward_fast(dout, pool_cache), relu_cache)``
    whether the cache holds the ReLU's output ``r = max(a, 0)`` (the pool's input) or its input
    ``a`` (as :func:`relu_max_pool_forward` keeps): a window of r has a positive maximum exactly
    where the same window of a does, at the same first position, and only there does the ReLU
    pass a gradient. Used by ``layer_utils.conv_relu_pool_backward``.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
    pool_cache : tuple
        ``(a, pool_param)`` from :func:`relu_max_pool_forward`, or ``(r, pool_param)`` from
        :func:`max_pool_forward_fast` applied to the ReLU's output.

    Returns
    -------
    da : ndarray, shape (N, C, H, W)
        Gradient with respect to the ReLU's input.
    """
    xf, g, geom, window = _backward_inputs(dout, pool_cache, "max_pool_forward_fast")
    return max_pool_backward(xf, g, *window, parallel=_parallel(geom, xf.itemsize), positive_only=True)


@recycling
def avg_pool_forward_fast(x, pool_param):
    """Take the mean of each pooling window (fast; same results as the naive version to rounding).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` and ``'stride'``.

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, pool_param)``: the forward's own arguments, unmodified (a copy of pool_param).
    """
    xf, geom, window = _forward_inputs(x, pool_param, "avg_pool_forward_fast")
    return avg_pool_forward(xf, *window, parallel=_parallel(geom, xf.itemsize)), (x, param_copy(pool_param))


@recycling
def avg_pool_backward_fast(dout, cache):
    """Gradient of :func:`avg_pool_forward_fast`: each window spreads ``dout / (HH*WW)`` evenly.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H_out, W_out)
    cache : tuple
        ``(x, pool_param)`` from :func:`avg_pool_forward_fast` (or :func:`layers.avg_pool_forward_naive`).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    _, g, geom, window = _backward_inputs(dout, cache, "avg_pool_forward_fast")
    return avg_pool_backward(g, (geom.N, geom.C, geom.H, geom.W), *window, parallel=_parallel(geom, g.itemsize))
