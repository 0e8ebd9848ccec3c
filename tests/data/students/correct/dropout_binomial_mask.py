"""Inverted dropout drawing its mask with np.random.binomial from a seeded global generator.

A different random stream than np.random.rand (so a different mask than the toolkit's for the same
seed), yet a correct dropout: kept units are x / p, a fraction p of them is kept, test mode is the
identity, and the backward applies the forward's mask. The cache is a dict.
EXPECT: pass
"""
import numpy as np


def dropout_forward(x, dropout_param):
    p = dropout_param['p']
    seed = dropout_param.get('seed')
    if seed is not None:
        np.random.seed(seed)
    if dropout_param['mode'] == 'train':
        keep = np.random.binomial(1, p, size=x.shape)
        mask = keep / p
        out = x * mask
    else:
        mask = None
        out = x.copy()
    return out, {'mode': dropout_param['mode'], 'mask': mask}


def dropout_backward(dout, cache):
    if cache['mode'] == 'train':
        return dout * cache['mask']
    return dout
