"""Normalization forwards written other ways: running statistics updated in place (np.multiply out=),
layer norm through the student's own batchnorm on the transposed input with a fresh dict, group norm
by np.split over groups.

GRADE: exit=0 pass=batchnorm_forward pass=spatial_batchnorm_forward pass=layernorm_forward pass=spatial_groupnorm_forward
"""
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    D = x.shape[1]
    eps, mom = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    if "running_mean" not in bn_param:
        bn_param["running_mean"] = np.zeros(D)
        bn_param["running_var"] = np.zeros(D)
    if bn_param["mode"] == "train":
        mean = np.mean(x, axis=0)
        var = np.mean((x - mean) ** 2, axis=0)
        np.multiply(bn_param["running_mean"], mom, out=bn_param["running_mean"])
        bn_param["running_mean"] += (1 - mom) * mean
        np.multiply(bn_param["running_var"], mom, out=bn_param["running_var"])
        bn_param["running_var"] += (1 - mom) * var
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
    xhat = (x - mean) / np.sqrt(var + eps)
    return xhat * gamma + beta, (x, xhat, mean, var, eps, gamma)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(np.moveaxis(x, 1, -1).reshape(-1, C), gamma, beta, bn_param)
    return np.moveaxis(out.reshape(N, H, W, C), -1, 1), cache


def layernorm_forward(x, gamma, beta, ln_param):
    D = x.shape[1]
    out, cache = batchnorm_forward(x.T, np.ones(x.shape[0]), np.zeros(x.shape[0]),
                                   {"mode": "train", "eps": ln_param.get("eps", 1e-5)})
    return out.T * gamma + beta, (cache, D)


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    parts = []
    for xg in np.split(x, G, axis=1):
        mu = xg.mean(axis=(1, 2, 3), keepdims=True)
        sd = np.sqrt(xg.var(axis=(1, 2, 3), keepdims=True) + eps)
        parts.append((xg - mu) / sd)
    return np.concatenate(parts, axis=1) * gamma + beta, None
