"""A student module whose relu_backward never returns (a while loop whose condition never changes).

The per-layer time limit (5 s here instead of the default, to keep the test short) must turn relu
into an ERROR row that says so; affine_forward must still be checked and pass; the run exits 1 and
--json is written.
RUN: args="--time-limit 5"
EXPECT: exit=1 error=relu_forward pass=affine_forward json message="time|limit|took"
"""
import numpy as np


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    dx = dout.copy()
    k = 0
    while k < dx.size:
        if cache.flat[k] <= 0:
            dx.flat[k] = 0
    return dx
