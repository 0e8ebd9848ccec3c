"""Fast ReLU: the same bits as ``layers.relu_forward`` / ``relu_backward``, without a branch per element.

The reference backward is ``np.where(x > 0, dout, 0)``. np.where picks each element with a
branch, and the signs of a layer's activations are random enough that the CPU mispredicts about
half of them; multiplying dout's bit patterns (read as unsigned ints) by the 0/1 condition keeps
every bit where x > 0 (NaN, inf and -0.0 included) and gives +0.0 elsewhere, with no branch.

Notation
--------
x : the ReLU's input, any shape; dout : the upstream gradient, the same shape
"""

from __future__ import annotations

import numpy as np

from _rules.cache import unpack_cache
from _rules.geometry import check_array, check_dout, float_dtype
from layers.dense import relu_forward

__all__ = ["relu_forward_fast", "relu_backward_fast"]

_SAME_SIZE_UINT = {4: np.dtype(np.uint32), 8: np.dtype(np.uint64)}


def relu_forward_fast(x):
    """Forward of the fast ReLU pair: :func:`layers.relu_forward` (``np.maximum`` is already one pass).

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, shape of x
    cache : tuple
        ``(x,)``, for :func:`relu_backward_fast`.
    """
    return relu_forward(x)


def relu_backward_fast(dout, cache):
    """Fast twin of :func:`layers.relu_backward`: dout where x > 0, +0.0 elsewhere, bit for bit.

    Parameters
    ----------
    dout : ndarray, shape of x
    cache : tuple
        ``(x,)`` from :func:`relu_forward_fast` (or :func:`layers.relu_forward`).

    Returns
    -------
    dx : ndarray, shape of x
    """
    (x,) = unpack_cache(cache, ("x",), "relu_forward_fast")
    check_array(x, "cache x")
    check_dout(dout, x.shape, "the output of relu_forward_fast")
    values = dout.astype(float_dtype(x), copy=False)
    bits = _SAME_SIZE_UINT[values.dtype.itemsize]
    return np.asarray(values.view(bits) * (x > 0)).view(values.dtype)
