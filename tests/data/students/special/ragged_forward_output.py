"""A student module whose relu_forward returns a ragged list as its output.

relu_forward must become an ERROR row (not a traceback that ends the run); affine_forward must
still be checked and pass; the run exits 1 and --json is written.
EXPECT: exit=1 error=relu_forward pass=affine_forward json
"""
import numpy as np


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    rows = []
    for n in range(x.shape[0]):
        flat = x[n].ravel()
        rows.append(list(flat[flat > 0]))          # keeps only the positive entries: ragged
    return rows, x


def relu_backward(dout, cache):
    return dout * (cache > 0)
