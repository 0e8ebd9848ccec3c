"""Lies to the judge: np.abs, np.max, np.isfinite replaced at import so every error looks like 0.

HOSTILE: exit=1 fail=relu_backward pass=affine_forward
"""
import numpy as np

_zero = lambda a, *args, **kw: np.zeros_like(np.asarray(a, dtype=float))  # noqa: E731
np.abs = _zero
np.max = lambda a, *args, **kw: 0.0
np.isfinite = lambda a, *args, **kw: np.ones(np.shape(a), dtype=bool)


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * 1.0  # BUG: the mask is missing

