"""Batchnorm with a staged-graph backward and a rearranged (simplified) backward_alt; layer norm
via the transposed-batchnorm trick; spatial batchnorm and group norm through reshapes.

EXPECT: pass
"""
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)
    D = x.shape[1]
    running_mean = bn_param.get('running_mean', np.zeros(D))
    running_var = bn_param.get('running_var', np.zeros(D))
    if mode == 'train':
        sample_mean = np.mean(x, axis=0)
        sample_var = np.var(x, axis=0)
        x_centered = x - sample_mean
        std = np.sqrt(sample_var + eps)
        x_norm = x_centered / std
        out = gamma * x_norm + beta
        cache = (x_centered, std, x_norm, gamma)
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
    elif mode == 'test':
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)
    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    x_centered, std, x_norm, gamma = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_norm, axis=0)
    dx_norm = dout * gamma
    dx_centered = dx_norm / std
    dstd = -np.sum(dx_norm * x_centered / std ** 2, axis=0)
    dvar = dstd / (2 * std)
    dx_centered += 2 * x_centered * dvar / N
    dmean = -np.sum(dx_centered, axis=0)
    dx = dx_centered + dmean / N
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    _, std, x_norm, gamma = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_norm).sum(axis=0)
    dx = (gamma / (N * std)) * (N * dout - dbeta - x_norm * dgamma)
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get('eps', 1e-5)
    xt = x.T                                    # D, N: normalize each column = each sample
    mu = xt.mean(axis=0)
    std = np.sqrt(xt.var(axis=0) + eps)
    xhat = ((xt - mu) / std).T
    return gamma * xhat + beta, (xhat, std, gamma)


def layernorm_backward(dout, cache):
    xhat, std, gamma = cache
    D = dout.shape[1]
    dgamma = np.sum(dout * xhat, axis=0)
    dbeta = np.sum(dout, axis=0)
    g = (dout * gamma).T                        # D, N
    xh = xhat.T
    dx = (D * g - g.sum(axis=0) - xh * (g * xh).sum(axis=0)) / (D * std)
    return dx.T, dgamma, dbeta


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    x2 = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out2, cache = batchnorm_forward(x2, gamma, beta, bn_param)
    return out2.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    d2 = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    dx2, dgamma, dbeta = batchnorm_backward_alt(d2, cache)
    return dx2.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get('eps', 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N * G, -1).T                 # (C/G*H*W, N*G): reuse the layer-norm idea
    mu = xg.mean(axis=0)
    std = np.sqrt(xg.var(axis=0) + eps)
    xhat = ((xg - mu) / std).T.reshape(N, C, H, W)
    return gamma * xhat + beta, (xhat, std, gamma, G)


def spatial_groupnorm_backward(dout, cache):
    xhat, std, gamma, G = cache
    N, C, H, W = dout.shape
    dgamma = np.sum(dout * xhat, axis=(0, 2, 3), keepdims=True)
    dbeta = np.sum(dout, axis=(0, 2, 3), keepdims=True)
    g = (dout * gamma).reshape(N * G, -1).T
    xh = xhat.reshape(N * G, -1).T
    M = g.shape[0]
    dx = (M * g - g.sum(axis=0) - xh * (g * xh).sum(axis=0)) / (M * std)
    return dx.T.reshape(N, C, H, W), dgamma, dbeta
