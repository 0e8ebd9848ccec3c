"""ReLU whose backward lets the gradient through where the input was negative.

BUG: relu_backward uses the mask (x < 0) instead of (x > 0).
EXPECT: layer=relu_backward diagnosis="mask|routing"
"""
import numpy as np


def relu_forward(x):
    out = x * (x > 0)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    x = cache
    dx = dout * (x < 0)
    return dx
