"""Inverted dropout.

In train mode each unit is kept with probability ``p`` and the kept ones are scaled by ``1/p``,
so the expected output equals the input and test mode is the identity (no rescaling there).

Notation
--------
x : input of any shape
p : the probability of KEEPING a unit (CS231n convention), in (0, 1]
mask : 0 for dropped units, ``1/p`` for kept ones, same shape and dtype as the output

Randomness: a generator is made locally for each call, ``np.random.default_rng(seed)`` when
``dropout_param['seed']`` is given (the same seed gives the same mask on every call) and a fresh,
OS-seeded one otherwise. The global ``np.random`` state is never read or changed.
"""

from __future__ import annotations

import numbers

import numpy as np

from _rules.cache import unpack_cache
from _rules.geometry import check_array, check_dout, check_param_dict, float_dtype

__all__ = ["dropout_forward", "dropout_backward"]

_MODES = ("train", "test")


def _check_dropout_param(dropout_param):
    check_param_dict(dropout_param, "dropout_param", ("p", "mode"))
    p = dropout_param["p"]
    if not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise TypeError(f"dropout_param['p'] (keep probability) must be a real number, got {p!r}")
    if not 0 < p <= 1:
        raise ValueError(f"dropout_param['p'] is the probability of KEEPING a unit and must lie in (0, 1], got {p!r}")
    mode = dropout_param["mode"]
    if mode not in _MODES:
        raise ValueError(f"dropout_param['mode'] must be 'train' or 'test', got {mode!r}")
    seed = dropout_param.get("seed")
    if seed is not None and (not isinstance(seed, (numbers.Integral, np.integer)) or isinstance(seed, bool) or seed < 0):
        raise ValueError(f"dropout_param['seed'] must be None or a non-negative int, got {seed!r}")
    return float(p), mode, seed


def dropout_forward(x, dropout_param):
    """Apply inverted dropout in train mode; return a copy of x in test mode.

    Parameters
    ----------
    x : ndarray, any shape
    dropout_param : dict
        ``'p'`` (required): keep probability in (0, 1];
        ``'mode'`` (required): ``'train'`` or ``'test'``;
        ``'seed'`` (optional): non-negative int for a reproducible mask. Not modified.

    Returns
    -------
    out : ndarray, shape of x
        In the floating dtype of x.
    cache : tuple
        ``(x, mode, mask)``: the input, the mode string, and the mask (shape of x, values 0 or
        ``1/p``) in train mode or ``None`` in test mode.
    """
    check_array(x, "x")
    p, mode, seed = _check_dropout_param(dropout_param)
    dtype = float_dtype(x)
    xf = x.astype(dtype, copy=False)
    if mode == "test":
        return xf.copy(), (x, mode, None)
    rng = np.random.default_rng(seed)
    mask = (rng.random(x.shape) < p).astype(dtype)
    mask /= dtype.type(p)
    return xf * mask, (x, mode, mask)


def dropout_backward(dout, cache):
    """Gradient of :func:`dropout_forward`.

    Parameters
    ----------
    dout : ndarray, shape of x
    cache : tuple
        ``(x, mode, mask)`` from :func:`dropout_forward`.

    Returns
    -------
    dx : ndarray, shape of x
        ``dout * mask`` in train mode, a copy of ``dout`` in test mode (one array, not a tuple).
    """
    x, mode, mask = unpack_cache(cache, ("x", "mode", "mask"), "dropout_forward")
    check_array(x, "cache x")
    if mode not in _MODES:
        raise ValueError(f"cache mode must be 'train' or 'test', got {mode!r}")
    check_dout(dout, x.shape, "the output of dropout_forward")
    dtype = float_dtype(x)
    if mode == "test":
        return dout.astype(dtype, copy=True)
    if not isinstance(mask, np.ndarray) or mask.shape != x.shape:
        raise ValueError(f"cache mask must be an array of shape {x.shape} as made by dropout_forward in train mode")
    return dout.astype(dtype, copy=False) * mask
