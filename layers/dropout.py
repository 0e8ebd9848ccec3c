"""Inverted dropout.

In train mode each unit is kept with probability ``p`` and the kept ones are scaled by ``1/p``,
so the expected output equals the input and test mode is the identity (no rescaling there).

Notation
--------
x : input of any shape
p : the probability of KEEPING a unit (CS231n convention), in (0, 1]
mask : 0 for dropped units, ``1/p`` for kept ones, same shape and dtype as the output

Randomness, as in CS231n: without ``dropout_param['seed']`` the mask is drawn from numpy's
global generator (``np.random.rand``), so ``np.random.seed(k)`` before a run reproduces every
mask. With a seed the mask comes from a private ``np.random.RandomState(seed)``: the same mask on
every call (what a gradient check needs), equal to the one ``np.random.seed(seed)`` followed by
``np.random.rand`` would give, and the global generator is neither read nor moved.
"""

from __future__ import annotations

import numbers

import numpy as np

from _rules.cache import unpack_cache
from _rules.geometry import check_array, check_dout, check_param_dict, float_dtype, scalar_value

__all__ = ["dropout_forward", "dropout_backward"]

_MODES = ("train", "test")


def _check_dropout_param(dropout_param):
    check_param_dict(dropout_param, "dropout_param", ("p", "mode"))
    p = scalar_value(dropout_param["p"])
    if not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise TypeError(f"dropout_param['p'] (keep probability) must be a real number, got {p!r}")
    if not 0 < p <= 1:
        raise ValueError(f"dropout_param['p'] is the probability of KEEPING a unit and must lie in (0, 1], got {p!r}")
    mode = scalar_value(dropout_param["mode"])
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"dropout_param['mode'] must be 'train' or 'test', got {mode!r}")
    seed = scalar_value(dropout_param.get("seed"))
    if seed is not None and (not isinstance(seed, (numbers.Integral, np.integer)) or isinstance(seed, bool)
                             or not 0 <= seed < 2**32):
        raise ValueError(f"dropout_param['seed'] must be None or an int in [0, 2**32), got {seed!r}")
    return float(p), mode, seed


class _ParamCopy(dict):
    """The copy of ``dropout_param`` kept in the cache: a plain dict of the caller's keys that also
    remembers x's shape and floating dtype as attributes, so the backward can check ``dout`` and
    return dx in the layer's dtype even in test mode, where the mask is None."""

    def __init__(self, dropout_param, x_shape, dtype):
        super().__init__(dropout_param)
        self.x_shape = tuple(x_shape)
        self.dtype = dtype

    def __reduce__(self):
        return _ParamCopy, (dict(self), self.x_shape, self.dtype)


def _uniform(shape, seed):
    """Uniform [0, 1) draws: from the global generator, or a private one when seeded."""
    if seed is None:
        return np.random.rand(*shape)
    return np.random.RandomState(seed).rand(*shape)


def dropout_forward(x, dropout_param):
    """Apply inverted dropout in train mode; return a copy of x in test mode.

    Parameters
    ----------
    x : ndarray, any shape
    dropout_param : dict
        ``'p'`` (required): keep probability in (0, 1];
        ``'mode'`` (required): ``'train'`` or ``'test'``;
        ``'seed'`` (optional): int in [0, 2**32) for a reproducible mask. Not modified.

    Returns
    -------
    out : ndarray, shape of x
        In the floating dtype of x.
    cache : tuple
        ``(dropout_param, mask)`` as in CS231n: a copy of ``dropout_param`` (a later change to
        the caller's dict cannot change the backward; it also records x's shape and dtype) and
        the mask (shape of x, values 0 or ``1/p``) in train mode, ``None`` in test mode.
    """
    check_array(x, "x")
    p, mode, seed = _check_dropout_param(dropout_param)
    dtype = float_dtype(x)
    param_copy = _ParamCopy(dropout_param, x.shape, dtype)
    if mode == "test":
        return x.astype(dtype, copy=True), (param_copy, None)
    # np.asarray: for a 0-d x the comparison gives a numpy bool, not an array.
    keep = np.asarray(_uniform(x.shape, seed) < p)
    mask = keep.astype(dtype) / dtype.type(p)
    return x.astype(dtype, copy=False) * mask, (param_copy, mask)


def dropout_backward(dout, cache):
    """Gradient of :func:`dropout_forward`.

    Parameters
    ----------
    dout : ndarray, shape of x
    cache : tuple
        ``(dropout_param, mask)`` from :func:`dropout_forward`.

    Returns
    -------
    dx : ndarray, shape of x
        ``dout * mask`` in train mode, a copy of ``dout`` in test mode (one array, not a tuple).
    """
    dropout_param, mask = unpack_cache(cache, ("dropout_param", "mask"), "dropout_forward")
    _, mode, _ = _check_dropout_param(dropout_param)
    # A cache assembled by hand from a plain dict still works; it just cannot be checked as far.
    x_shape = getattr(dropout_param, "x_shape", None)
    dtype = getattr(dropout_param, "dtype", None)
    if mode == "train":
        if not isinstance(mask, np.ndarray):
            raise ValueError("cache mask must be the array dropout_forward made in train mode, got "
                             f"{type(mask).__name__}")
        check_array(mask, "cache mask")
        x_shape, dtype = mask.shape, float_dtype(mask)
    check_array(dout, "dout")
    if x_shape is not None:
        check_dout(dout, x_shape, "the output of dropout_forward")
    if mode == "test":
        return dout.astype(dtype or float_dtype(dout), copy=True)
    return dout.astype(dtype, copy=False) * mask
