"""The verdict faked: an atexit handler calling os._exit(0) after a FAILED report.

HOSTILE: exit=1 fail=relu_backward pass=affine_forward
"""
import atexit
import os

import numpy as np

atexit.register(lambda: os._exit(0))


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * 1.0  # BUG: the mask is missing

