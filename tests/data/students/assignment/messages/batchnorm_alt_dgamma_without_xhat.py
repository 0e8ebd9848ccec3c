"""Batchnorm with a simplified backward_alt that drops xhat from the dgamma term.

BUG: batchnorm_backward_alt writes (N * dout - dbeta - dgamma) instead of
(N * dout - dbeta - xhat * dgamma). batchnorm_backward (the graph version) is right.
GRADE: exit=1 fail="batchnorm_forward + batchnorm_backward_alt:x" diagnosis="without the factor xhat"
"""
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get('eps', 1e-5)
    mean = x.mean(axis=0)
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
    xhat = (x - mean) * inv_std
    return gamma * xhat + beta, (xhat, gamma, inv_std)


def batchnorm_backward(dout, cache):
    xhat, gamma, inv_std = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    dvar = np.sum(dxhat * xhat, axis=0) * -0.5 * inv_std ** 2           # d/dvar with xmu = xhat / inv_std
    dmean = -np.sum(dxhat, axis=0) * inv_std
    dx = dxhat * inv_std + dvar * 2.0 * (xhat / inv_std) / N + dmean / N
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    xhat, gamma, inv_std = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dx = gamma * inv_std / N * (N * dout - dbeta - dgamma)
    return dx, dgamma, dbeta
