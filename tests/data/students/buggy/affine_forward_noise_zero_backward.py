"""Affine layer that adds 1e-9 noise in the forward and returns all-zero gradients.

BUG: affine_forward adds 1e-9 * np.random.randn(...) (a "tie breaker" gone wrong) and
affine_backward returns zeros. A layer the toolkit knows to be deterministic that returns
different outputs for the same inputs must be a FAIL, not "not checkable".
EXPECT: layer=affine_forward
"""
import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    out = out + 1e-9 * np.random.randn(*out.shape)
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)
