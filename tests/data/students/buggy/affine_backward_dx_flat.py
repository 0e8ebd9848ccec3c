"""Affine layer whose dx keeps the flattened (N, D) shape.

BUG: affine_backward returns dout @ w.T without reshaping it back to x.shape (N, d_1, ..., d_k).
EXPECT: layer=affine_backward diagnosis="shape"
"""
import numpy as np


def affine_forward(x, w, b):
    N = x.shape[0]
    x_row = x.reshape(N, -1)
    out = x_row.dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    dx = dout.dot(w.T)
    dw = x.reshape(N, -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db
