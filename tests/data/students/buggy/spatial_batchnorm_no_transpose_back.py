"""Spatial batchnorm that reshapes back to (N, C, H, W) without transposing back.

BUG: spatial_batchnorm_forward moves C last, (N, H, W, C) -> (N*H*W, C), runs batchnorm, and then
reshapes the result straight to (N, C, H, W) (the backward makes the same mistake).
EXPECT: layer=spatial_batchnorm_forward diagnosis="transpos"
"""
import numpy as np


def _bn_train(x, gamma, beta, eps):
    mu = x.mean(axis=0)
    std = np.sqrt(x.var(axis=0) + eps)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, gamma, std)


def _bn_backward(dout, cache):
    xhat, gamma, std = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / std
    return dx, dgamma, dbeta


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    x2 = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out2, cache = _bn_train(x2, gamma, beta, bn_param.get('eps', 1e-5))
    out = out2.reshape(N, C, H, W)
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    d2 = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dx2, dgamma, dbeta = _bn_backward(d2, cache)
    dx = dx2.reshape(N, C, H, W)
    return dx, dgamma, dbeta
