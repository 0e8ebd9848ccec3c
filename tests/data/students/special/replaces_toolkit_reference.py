"""A student module that replaces layers.affine_forward with its own at import time.

Its affine_forward forgets the bias (and its backward returns db = 0, consistently), so the
gradients agree and only the comparison with the toolkit's forward can catch it. The module then
writes itself into the toolkit's `layers` module: the checker must have taken its reference
before importing the student's code (issue 14), so the forward comparison still fails.
EXPECT: exit=1 fail=affine_forward
"""
import numpy as np

import layers


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w)
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return dout.dot(w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T.dot(dout), np.zeros_like(b)


layers.affine_forward = affine_forward
