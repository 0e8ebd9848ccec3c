"""No report today: the first layer checked (affine) crashes the process; the next one is right.

A fresh worker must take relu after the crash: affine is an ERROR row naming the signal, relu passes.
HOSTILE: exit=1 error=affine_forward pass=relu_forward message="SIGSEGV"
"""
import ctypes

import numpy as np


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    ctypes.string_at(0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)
