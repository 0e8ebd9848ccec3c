"""Inverted dropout that also drops units at test time.

BUG: dropout_forward ignores the mode: in 'test' mode it still draws a mask, where it must return x
unchanged.
EXPECT: layer=dropout_forward
"""
import numpy as np


def dropout_forward(x, dropout_param):
    p = dropout_param['p']
    if dropout_param.get('seed') is not None:
        np.random.seed(dropout_param['seed'])
    mask = (np.random.rand(*x.shape) < p) / p
    return x * mask, (dropout_param, mask)


def dropout_backward(dout, cache):
    _, mask = cache
    return dout * mask
