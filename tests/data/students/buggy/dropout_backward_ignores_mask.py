"""Inverted dropout whose backward passes dout through unmasked.

BUG: dropout_backward returns dout in train mode, forgetting the mask (and the 1/p).
EXPECT: layer=dropout_backward
"""
import numpy as np


def dropout_forward(x, dropout_param):
    p, mode = dropout_param['p'], dropout_param['mode']
    if 'seed' in dropout_param:
        np.random.seed(dropout_param['seed'])
    if mode == 'train':
        mask = (np.random.rand(*x.shape) < p) / p
        return x * mask, (dropout_param, mask)
    return x, (dropout_param, None)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    dx = dout
    return dx
