"""A student's normalization forwards with one bug in layernorm_forward (state across calls).

BUG: a layer norm copied from batchnorm keeps a running mean in ln_param and uses it at test time.
GRADE: exit=1 fail="layernorm_forward:(keeps no state)" diagnosis="running statistics" pass=batchnorm_forward pass=spatial_batchnorm_forward pass=spatial_groupnorm_forward
"""
import numpy as np

def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "train":
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        xhat = (x - mu) / np.sqrt(var + eps)
        out = gamma * xhat + beta
        cache = (xhat, gamma, np.sqrt(var + eps))
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * xhat + beta
        cache = None
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache

def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    flat = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out, cache = batchnorm_forward(flat, gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache

def layernorm_forward(x, gamma, beta, ln_param):
    # copied from batchnorm_forward and transposed
    mode = ln_param.get("mode", "train")
    eps = ln_param.get("eps", 1e-5)
    N, D = x.shape
    running_mean = ln_param.get("running_mean", np.zeros((N, 1)))
    running_var = ln_param.get("running_var", np.zeros((N, 1)))
    if mode == "train":
        mu = x.mean(axis=1, keepdims=True)
        var = x.var(axis=1, keepdims=True)
        ln_param["running_mean"] = 0.9 * running_mean + 0.1 * mu
        ln_param["running_var"] = 0.9 * running_var + 0.1 * var
    else:
        mu, var = running_mean, running_var
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (xhat, gamma, np.sqrt(var + eps))

def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N, G, C // G, H, W)
    mu = xg.mean(axis=(2, 3, 4), keepdims=True)
    var = xg.var(axis=(2, 3, 4), keepdims=True)
    xhat = ((xg - mu) / np.sqrt(var + eps)).reshape(N, C, H, W)
    return gamma * xhat + beta, (xhat, gamma, G)
