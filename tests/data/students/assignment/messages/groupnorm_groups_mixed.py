r"""Group norm that forms the groups from interleaved channels.

BUG: spatial_groupnorm_forward reshapes x to (N, C // G, G, H, W) and takes the statistics over
axes (1, 3, 4), so group g holds channels g, g + G, g + 2G... instead of the contiguous block
g*C/G .. (g+1)*C/G - 1. The backward uses the same grouping, so only the forward output shows it.
GRADE: exit=1 fail="spatial_groupnorm_forward:\(forward\)" diagnosis="groups are mixed" pass="spatial_groupnorm_forward:\(test mode\)"
"""
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get('eps', 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N, C // G, G, H, W)
    mean = xg.mean(axis=(1, 3, 4), keepdims=True)
    var = xg.var(axis=(1, 3, 4), keepdims=True)
    xhat = ((xg - mean) / np.sqrt(var + eps)).reshape(N, C, H, W)
    out = gamma * xhat + beta
    return out, (xhat, gamma, np.sqrt(var + eps), G)


def spatial_groupnorm_backward(dout, cache):
    xhat, gamma, std, G = cache
    N, C, H, W = dout.shape
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * xhat).sum(axis=(0, 2, 3), keepdims=True)
    dxhat = (dout * gamma).reshape(N, C // G, G, H, W)
    xh = xhat.reshape(N, C // G, G, H, W)
    m = dxhat.mean(axis=(1, 3, 4), keepdims=True)
    v = (dxhat * xh).mean(axis=(1, 3, 4), keepdims=True)
    dx = ((dxhat - m - xh * v) / std).reshape(N, C, H, W)
    return dx, dgamma, dbeta
