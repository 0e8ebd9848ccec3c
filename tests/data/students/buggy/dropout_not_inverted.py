"""Vanilla (non-inverted) dropout: no 1/p at train time, x * p at test time.

BUG: dropout_forward keeps units with probability p but does not divide them by p (and scales by
p at test time instead); the toolkit's API is inverted dropout (train: x / p, test: identity).
EXPECT: layer=dropout_forward
"""
import numpy as np


def dropout_forward(x, dropout_param):
    p, mode = dropout_param['p'], dropout_param['mode']
    if 'seed' in dropout_param:
        np.random.seed(dropout_param['seed'])
    if mode == 'train':
        mask = np.random.rand(*x.shape) < p
        out = x * mask
    else:
        mask = None
        out = x * p
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param['mode'] == 'train':
        return dout * mask
    return dout * dropout_param['p']
