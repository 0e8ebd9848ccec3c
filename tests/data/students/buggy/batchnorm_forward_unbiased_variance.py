"""Batchnorm that normalizes with the unbiased (N - 1) variance.

BUG: batchnorm_forward uses np.var(x, axis=0, ddof=1); the backward is written for the biased
variance, so the forward output and the gradients are both off.
EXPECT: layer=batchnorm_forward
"""
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get('eps', 1e-5)
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0, ddof=1)
    std = np.sqrt(var + eps)
    xhat = (x - mu) / std
    out = gamma * xhat + beta
    return out, (x, xhat, gamma, std)


def batchnorm_backward(dout, cache):
    x, xhat, gamma, std = cache
    N = x.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * std)
    return dx, dgamma, dbeta
