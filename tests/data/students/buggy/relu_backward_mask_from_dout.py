"""ReLU whose backward takes its mask from dout instead of the forward's input.

BUG: relu_backward zeroes dout where dout is negative (dout > 0 as the mask), not where x was.
EXPECT: layer=relu_backward diagnosis="mask|routing"
"""
import numpy as np


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    dx = np.where(dout > 0, dout, 0)
    return dx
