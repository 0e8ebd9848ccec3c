"""Layers that compute in float32 whatever the input dtype: right, at the float32 tolerance.

The report says so once per layer (it used to repeat the warning for the forward and for every input
and gradient).
GRADE: exit=0 pass=affine_forward pass=relu_forward onewarning=affine_forward onewarning=relu_forward message="affine_forward: computes in float32 for float64 inputs"
"""
import numpy as np


def affine_forward(x, w, b):
    x32, w32, b32 = (a.astype(np.float32) for a in (x, w, b))
    return x32.reshape(len(x), -1) @ w32 + b32, (x32, w32)


def affine_backward(dout, cache):
    x, w = cache
    d = dout.astype(np.float32)
    return (d @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ d, d.sum(0)


def relu_forward(x):
    x32 = x.astype(np.float32)
    return np.maximum(x32, 0), x32


def relu_backward(dout, cache):
    return (dout * (cache > 0)).astype(np.float32)
