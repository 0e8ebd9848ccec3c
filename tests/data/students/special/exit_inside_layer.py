"""A student module whose relu_forward calls exit() (a debugging leftover).

relu_forward must become an ERROR row; affine_forward, which is right, must still be checked and
pass; the run exits 1 and --json is written.
EXPECT: exit=1 error=relu_forward pass=affine_forward json
"""
import numpy as np


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    out = np.maximum(0, x)
    print(out)
    exit()
    return out, x


def relu_backward(dout, cache):
    return dout * (cache > 0)
