"""A student module whose relu_backward returns an array of strings.

relu_backward must give an ERROR row for relu; affine_forward must still be checked and pass; the
run exits 1 and --json is written.
EXPECT: exit=1 error=relu_forward pass=affine_forward json
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
    dx = np.where(cache > 0, dout, 0)
    return np.array([f"{v:.3f}" for v in dx.ravel()]).reshape(dx.shape)
