"""Affine layer whose dw is computed as dout.T @ x and reshaped to fit.

BUG: affine_backward computes the (M, D) product dout.T @ x_flat and reshapes it to w.shape (D, M)
to silence the shape error, instead of x_flat.T @ dout: right shape, scrambled values.
EXPECT: layer=affine_backward
"""
import numpy as np


def affine_forward(x, w, b):
    x2 = np.reshape(x, (x.shape[0], np.prod(x.shape[1:])))
    return np.matmul(x2, w) + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    x2 = np.reshape(x, (x.shape[0], np.prod(x.shape[1:])))
    dx = np.matmul(dout, w.T).reshape(x.shape)
    dw = np.matmul(dout.T, x2).reshape(w.shape)
    db = dout.sum(0)
    return dx, dw, db
