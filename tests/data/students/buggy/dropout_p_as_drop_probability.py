"""Inverted dropout that treats p as the probability of *dropping* a unit.

BUG: dropout_forward keeps a unit with probability 1 - p and scales by 1 / (1 - p); the API says p
is the keep probability (kept units are x / p, and a fraction p of them is kept). The backward is
consistent with the forward, so only a check of the forward's statistics can catch it.
EXPECT: layer=dropout_forward
"""
import numpy as np


def dropout_forward(x, dropout_param):
    p, mode = dropout_param['p'], dropout_param['mode']
    if 'seed' in dropout_param:
        np.random.seed(dropout_param['seed'])
    mask = None
    if mode == 'train':
        mask = (np.random.rand(*x.shape) >= p) / (1 - p)
        out = x * mask
    else:
        out = x
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param['mode'] == 'train':
        return dout * mask
    return dout
