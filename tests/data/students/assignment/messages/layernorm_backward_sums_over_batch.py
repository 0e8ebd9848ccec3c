"""Layer norm copied from batchnorm: the backward still reduces over the batch axis.

BUG: layernorm_backward takes the means in dx over axis 0 (the batch) instead of axis 1 (the
features of each sample). The forward is right.
GRADE: exit=1 fail=layernorm_forward:x diagnosis="run over axis 0"
"""
import numpy as np


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get('eps', 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    sigma = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    xhat = (x - mu) / sigma
    return xhat * gamma + beta, (xhat, gamma, sigma)


def layernorm_backward(dout, cache):
    xhat, gamma, sigma = cache
    dgamma = np.sum(dout * xhat, axis=0)
    dbeta = np.sum(dout, axis=0)
    g = dout * gamma
    dx = (g - g.mean(axis=0) - xhat * (g * xhat).mean(axis=0)) / sigma
    return dx, dgamma, dbeta
