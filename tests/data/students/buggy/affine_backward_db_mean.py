"""Affine layer whose db averages over the batch instead of summing.

BUG: affine_backward returns db = dout.mean(axis=0) (the classic 1/N slipped into the bias).
EXPECT: layer=affine_backward diagnosis="1/N"
"""
import numpy as np


def affine_forward(x, w, b):
    out = np.einsum('nd,dm->nm', x.reshape(len(x), -1), w) + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = np.einsum('nm,dm->nd', dout, w).reshape(x.shape)
    dw = np.einsum('nd,nm->dm', x.reshape(len(x), -1), dout)
    db = dout.mean(axis=0)
    return dx, dw, db
