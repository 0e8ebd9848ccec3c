"""Lies to the judge: builtins.max replaced at import to return its smallest argument.

HOSTILE: exit=1 fail=relu_backward pass=affine_forward
"""
import builtins

import numpy as np

builtins.max = lambda *args, **kw: 0.0


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * 1.0  # BUG: the mask is missing

