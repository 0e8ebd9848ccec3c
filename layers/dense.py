"""Reference fully connected (affine) layer and ReLU, written as the course writes the rules.

Their optimised twin (a branch-free ReLU backward) is ``fast_layers.dense``.

Notation
--------
N : batch size
d1, ..., dk : the trailing dimensions of one input example; D = d1 * ... * dk
M : number of output features
"""

from __future__ import annotations

import math

import numpy as np

from _rules.cache import unpack_cache
from _rules.geometry import check_array, check_dout, check_flag, float_dtype

__all__ = ["affine_forward", "affine_backward", "relu_forward", "relu_backward"]

def _affine_shapes(x, w, b):
    """Validate affine inputs; return (N, D, M)."""
    check_array(x, "x")
    check_array(w, "w", 2, "(D, M)")
    check_array(b, "b")
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, d1, ..., dk) with at least 2 dimensions, got shape {x.shape}")
    N = x.shape[0]
    D = math.prod(x.shape[1:])
    if w.shape[0] != D:
        raise ValueError(
            f"w must have shape (D, M) with D = prod(x.shape[1:]) = {D} for x of shape {x.shape}, "
            f"got w shape {w.shape}"
        )
    M = w.shape[1]
    if b.shape != (M,):
        raise ValueError(f"b must have shape (M,) = ({M},) to match w shape {w.shape}, got shape {b.shape}")
    return N, D, M


def affine_forward(x, w, b):
    """Apply ``out = x.reshape(N, D) @ w + b``.

    Parameters
    ----------
    x : ndarray, shape (N, d1, ..., dk)
        Each example is flattened (C order) to a row of length D.
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)

    Returns
    -------
    out : ndarray, shape (N, M)
        dtype is the floating promotion of x, w and b.
    cache : tuple
        ``(x, w, b)``: the forward's own arguments, unmodified.
    """
    N, D, _ = _affine_shapes(x, w, b)
    dtype = float_dtype(x, w, b)
    out = x.reshape(N, D).astype(dtype, copy=False) @ w.astype(dtype, copy=False) + b.astype(dtype, copy=False)
    return out, (x, w, b)


def affine_backward(dout, cache, *, input_grad=True):
    """Gradients of :func:`affine_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
    cache : tuple
        ``(x, w, b)`` from :func:`affine_forward`.
    input_grad : bool, optional
        False skips dx (returned as None): a net's first layer, whose x is the data, needs only
        dw and db, and dx would cost as much as dw.

    Returns
    -------
    dx : ndarray, shape (N, d1, ..., dk), or None
        Same shape as the forward's x; None when ``input_grad`` is False.
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    """
    input_grad = check_flag(input_grad, "input_grad")
    x, w, b = unpack_cache(cache, ("x", "w", "b"), "affine_forward")
    N, D, M = _affine_shapes(x, w, b)
    check_dout(dout, (N, M), "the output of affine_forward")
    dtype = float_dtype(x, w, b)
    g = dout.astype(dtype, copy=False)
    x2 = x.reshape(N, D).astype(dtype, copy=False)
    dx = (g @ w.astype(dtype, copy=False).T).reshape(x.shape) if input_grad else None
    dw = x2.T @ g
    db = g.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """Apply the rectified linear unit, ``max(x, 0)``, elementwise.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, shape of x
        In the floating dtype of x (an int input gives float64).
    cache : tuple
        ``(x,)``: the forward's argument, unmodified.
    """
    check_array(x, "x")
    dtype = float_dtype(x)
    out = np.maximum(x.astype(dtype, copy=False), 0)
    return out, (x,)


def relu_backward(dout, cache):
    """Gradient of :func:`relu_forward`.

    The derivative at exactly 0 is taken as 0 (the unit is off there).

    Parameters
    ----------
    dout : ndarray, shape of x
    cache : tuple
        ``(x,)`` from :func:`relu_forward`.

    Returns
    -------
    dx : ndarray, shape of x
        One array, not a tuple (CS231n convention).
    """
    (x,) = unpack_cache(cache, ("x",), "relu_forward")
    check_array(x, "cache x")
    check_dout(dout, x.shape, "the output of relu_forward")
    return np.where(x > 0, dout.astype(float_dtype(x), copy=False), 0)
