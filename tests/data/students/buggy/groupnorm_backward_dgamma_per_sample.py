"""Group norm whose dgamma and dbeta are summed over the pixels but not over the batch.

BUG: spatial_groupnorm_backward sums dgamma/dbeta over axes (2, 3) only, returning shape
(N, C, 1, 1) instead of (1, C, 1, 1).
EXPECT: layer=spatial_groupnorm_backward diagnosis="shape"
"""
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get('eps', 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N, G, -1)
    mu = xg.mean(axis=2, keepdims=True)
    sd = np.sqrt(xg.var(axis=2, keepdims=True) + eps)
    xhat = ((xg - mu) / sd).reshape(N, C, H, W)
    return gamma * xhat + beta, (G, xhat, gamma, sd)


def spatial_groupnorm_backward(dout, cache):
    G, xhat, gamma, sd = cache
    N, C, H, W = dout.shape
    dbeta = dout.sum(axis=(2, 3), keepdims=True)
    dgamma = (dout * xhat).sum(axis=(2, 3), keepdims=True)
    g = (dout * gamma).reshape(N, G, -1)
    xh = xhat.reshape(N, G, -1)
    dx = (g - g.mean(axis=2, keepdims=True) - xh * (g * xh).mean(axis=2, keepdims=True)) / sd
    return dx.reshape(N, C, H, W), dgamma, dbeta
