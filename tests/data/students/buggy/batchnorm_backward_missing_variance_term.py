"""Batchnorm whose backward (one-line formula) drops the variance path.

BUG: batchnorm_backward computes dx = gamma / std * (dout - dout.mean(0)), without the
- xhat * mean(dout * xhat) term coming through the batch variance.
EXPECT: layer=batchnorm_backward diagnosis="variance|xhat"
"""
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)
    if bn_param['mode'] == 'train':
        mean, var = x.mean(axis=0), x.var(axis=0)
        bn_param['running_mean'] = momentum * bn_param.get('running_mean', np.zeros_like(mean)) + (1 - momentum) * mean
        bn_param['running_var'] = momentum * bn_param.get('running_var', np.zeros_like(var)) + (1 - momentum) * var
    else:
        mean, var = bn_param['running_mean'], bn_param['running_var']
    std = np.sqrt(var + eps)
    xhat = (x - mean) / std
    return gamma * xhat + beta, (xhat, gamma, std)


def batchnorm_backward(dout, cache):
    xhat, gamma, std = cache
    dgamma = np.sum(dout * xhat, axis=0)
    dbeta = np.sum(dout, axis=0)
    dx = gamma / std * (dout - dout.mean(axis=0))
    return dx, dgamma, dbeta
