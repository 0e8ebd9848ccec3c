"""Fast batch normalization: the same bits as ``layers.norm``'s batchnorm, with fewer passes and arrays.

The references compute each statistic and each stage of the backward into a new array, as the
math reads. Here the forward computes the mean and the variance from one centered copy of x and
scales and shifts its output in place, and the backward walks the same stages through three
(N, D) arrays instead of ten, in the same order: every result is bit for bit the reference's
(``tests/fast_layers/test_norm.py``). Validation, caches and ``bn_param`` handling are the
references' own (``layers.norm.batchnorm_call``, ``batchnorm_cache``).

Notation
--------
N : batch size
D : number of features
C, H, W : channels, height and width (spatial batchnorm)
"""

from __future__ import annotations

import numpy as np

from layers.norm import (
    batchnorm_cache,
    batchnorm_call,
    batchnorm_over_pixels,
    spatial_batchnorm_backward,
    store_running_stats,
)

__all__ = ["batchnorm_forward_fast", "batchnorm_backward_fast", "spatial_batchnorm_forward_fast",
           "spatial_batchnorm_backward_fast"]


def batchnorm_forward_fast(x, gamma, beta, bn_param):
    """Fast twin of :func:`layers.batchnorm_forward`: same arguments, results and cache.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    gamma, beta : ndarray, shape (D,)
    bn_param : dict
        As for :func:`layers.batchnorm_forward` (its running statistics are replaced in train mode).

    Returns
    -------
    out : ndarray, shape (N, D)
    cache : tuple
        ``(x, gamma, beta, mean, std, mode)``, as the reference's.
    """
    a = batchnorm_call(x, gamma, beta, bn_param)
    if a.mode == "train":
        # x.mean(axis=0) and x.var(axis=0) written out: the same bits, and var reuses the centered x.
        mean = a.x.sum(axis=0) / a.x.shape[0]
        centered = a.x - mean
        var = (centered * centered).sum(axis=0) / a.x.shape[0]
        store_running_stats(bn_param, a, mean, var)
    else:
        mean, var = a.running_mean.copy(), a.running_var
        centered = a.x - mean
    std = np.sqrt(var + a.eps)
    out = centered / std  # xhat, scaled and shifted in place
    out *= a.gamma
    out += a.beta
    return out, (x, gamma, beta, mean, std, a.mode)


def batchnorm_backward_fast(dout, cache):
    """Fast twin of :func:`layers.batchnorm_backward`: the same stages in three (N, D) arrays.

    Parameters
    ----------
    dout : ndarray, shape (N, D)
    cache : tuple
        ``(x, gamma, beta, mean, std, mode)`` from :func:`batchnorm_forward_fast` (or the reference).

    Returns
    -------
    dx : ndarray, shape (N, D)
    dgamma, dbeta : ndarray, shape (D,)
    """
    x, gamma, mean, std, mode, g = batchnorm_cache(dout, cache, "batchnorm_forward_fast")
    N = x.shape[0]
    centered = x - mean
    inv_std = 1 / std
    dbeta = g.sum(axis=0)
    dxhat = g * gamma
    # g * xhat and dxhat * centered are only ever summed: one scratch array holds each in turn,
    # and dxhat becomes dcentered, then dx, in place.
    scratch = centered * inv_std
    scratch *= g
    dgamma = scratch.sum(axis=0)
    if mode == "test":
        dxhat *= inv_std
        return dxhat, dgamma, dbeta
    dinv_std = np.multiply(dxhat, centered, out=scratch).sum(axis=0)
    dvar = -dinv_std * inv_std**2 / (2 * std)
    dcentered = dxhat
    dcentered *= inv_std
    np.multiply(centered, 2 / N, out=scratch)
    scratch *= dvar
    dcentered += scratch
    dmean = -dcentered.sum(axis=0)
    dcentered += dmean / N
    return dcentered, dgamma, dbeta


def spatial_batchnorm_forward_fast(x, gamma, beta, bn_param):
    """Fast twin of :func:`layers.spatial_batchnorm_forward`: :func:`batchnorm_forward_fast` over the pixels.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma, beta : ndarray, shape (C,)
    bn_param : dict

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : tuple
        ``(x_shape, bn_cache)``, as the reference's.
    """
    return batchnorm_over_pixels(batchnorm_forward_fast, x, gamma, beta, bn_param)


def spatial_batchnorm_backward_fast(dout, cache):
    """Gradients of :func:`spatial_batchnorm_forward_fast`: the reference's closed form is already one pass.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
    cache : tuple
        ``(x_shape, bn_cache)`` from :func:`spatial_batchnorm_forward_fast`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dgamma, dbeta : ndarray, shape (C,)
    """
    return spatial_batchnorm_backward(dout, cache)
