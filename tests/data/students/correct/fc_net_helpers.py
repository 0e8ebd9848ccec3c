"""The fc_net helpers a student adds for assignment 2 (affine -> norm -> ReLU), with their own
one-line batchnorm/layernorm backward formulas instead of the toolkit's.

EXPECT: pass
"""
import numpy as np


def _norm_forward(x, gamma, beta, eps, axis):
    mu = x.mean(axis=axis, keepdims=True)
    std = np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, std, gamma, axis)


def _norm_backward(dout, cache):
    xhat, std, gamma, axis = cache
    dgamma = (dout * xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    g = dout * gamma
    dx = (g - g.mean(axis=axis, keepdims=True) - xhat * (g * xhat).mean(axis=axis, keepdims=True)) / std
    return dx, dgamma, dbeta


def affine_bn_relu_forward(x, w, b, gamma, beta, bn_param):
    a = x.reshape(x.shape[0], -1) @ w + b
    eps = bn_param.get('eps', 1e-5)
    if bn_param['mode'] == 'test':
        D = a.shape[1]
        mean, var = bn_param.get('running_mean', np.zeros(D)), bn_param.get('running_var', np.zeros(D))
        an = gamma * (a - mean) / np.sqrt(var + eps) + beta
        return np.maximum(an, 0), None
    an, bn_cache = _norm_forward(a, gamma, beta, eps, 0)
    momentum = bn_param.get('momentum', 0.9)
    D = a.shape[1]
    bn_param['running_mean'] = momentum * bn_param.get('running_mean', np.zeros(D)) + (1 - momentum) * a.mean(axis=0)
    bn_param['running_var'] = momentum * bn_param.get('running_var', np.zeros(D)) + (1 - momentum) * a.var(axis=0)
    out = np.maximum(an, 0)
    return out, (x, w, bn_cache, an > 0)


def affine_bn_relu_backward(dout, cache):
    x, w, bn_cache, mask = cache
    da, dgamma, dbeta = _norm_backward(dout * mask, bn_cache)
    dx = (da @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ da
    return dx, dw, da.sum(axis=0), dgamma, dbeta


def affine_ln_relu_forward(x, w, b, gamma, beta, ln_param):
    a = x.reshape(x.shape[0], -1) @ w + b
    an, ln_cache = _norm_forward(a, gamma, beta, ln_param.get('eps', 1e-5), 1)
    out = np.maximum(an, 0)
    return out, (x, w, ln_cache, an > 0)


def affine_ln_relu_backward(dout, cache):
    x, w, ln_cache, mask = cache
    da, dgamma, dbeta = _norm_backward(dout * mask, ln_cache)
    dx = (da @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ da
    return dx, dw, da.sum(axis=0), dgamma, dbeta
