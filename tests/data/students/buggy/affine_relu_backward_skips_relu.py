"""Affine-ReLU sandwich whose backward forgets the ReLU.

BUG: affine_relu_backward passes dout straight to affine_backward without relu_backward first.
The layers themselves are the toolkit's (imported as CS231n's layer_utils does).
EXPECT: layer=affine_relu_backward
"""
from layers import affine_backward, affine_forward, relu_backward, relu_forward  # noqa: F401


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    cache = (fc_cache, relu_cache)
    return out, cache


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    dx, dw, db = affine_backward(dout, fc_cache)
    return dx, dw, db
