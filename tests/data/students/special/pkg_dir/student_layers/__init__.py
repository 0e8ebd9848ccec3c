"""A student's layers kept as a package directory, checked with `--module student_layers` given as
a directory path. Both layers are right.
RUN: cwd=.. module=student_layers
EXPECT: exit=0 pass=affine_forward pass=relu_forward
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
    return dout * (cache > 0)
