"""Affine and ReLU with a `x >= 0` mask, affine via np.dot with explicit reshapes.

The mask differs from the toolkit's (x > 0) only at x == 0 exactly, a kink the checker must not
hold against the student.
EXPECT: pass
"""
import numpy as np


def affine_forward(x, w, b):
    N = x.shape[0]
    D = int(np.prod(x.shape[1:]))
    out = np.dot(x.reshape(N, D), w) + b.reshape(1, -1)
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    D = w.shape[0]
    dx = np.dot(dout, w.T).reshape(*x.shape)
    dw = np.dot(x.reshape(N, D).T, dout)
    db = np.dot(np.ones(N), dout)
    return dx, dw, db


def relu_forward(x):
    mask = x >= 0
    out = x * mask
    return out, mask


def relu_backward(dout, cache):
    mask = cache
    return dout * mask


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)
