"""A student's cs231n/layers.py checked from inside cs231n/ (cwd = cs231n/) with the console script.

The folder also holds the course's gradient_check.py, which `python -m gradient_check` would run
instead of the toolkit (the current directory comes first on sys.path); the console script is what
a grader runs there, and it must still use the toolkit's references. The forward forgets the bias
and the backward returns db = 0, so only the comparison with the toolkit's own affine_forward
catches it; relu is right and must pass.
RUN: cwd=. module=layers.py via=console
EXPECT: exit=1 fail=affine_forward pass=relu_forward
EXPECT: exit=2 message="rename"
"""
import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w)
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return dout.dot(w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T.dot(dout), np.zeros_like(b)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)
