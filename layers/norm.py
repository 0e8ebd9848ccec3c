"""Reference normalization layers: batch, layer, spatial batch and spatial group normalization.

Each is written as the math reads, one new array per step; the fast batchnorm twins (the same
bits with fewer arrays) are ``fast_layers.norm``.

All of them standardize ``x`` over some axes, ``xhat = (x - mean) / sqrt(var + eps)`` with the
biased variance (divide by the count, not count - 1), then scale and shift,
``out = gamma * xhat + beta``.

============================  ====================  ======================
layer                         statistics over       gamma / beta shape
============================  ====================  ======================
batchnorm                     the batch (axis 0)    (D,)
layernorm                     the features (axis 1) (D,)
spatial_batchnorm             N, H, W               (C,)
spatial_groupnorm             each group's C/G, H, W (1, C, 1, 1)
============================  ====================  ======================

Notation
--------
N : batch size
D : number of features
C : channels
H, W : height and width
G : number of channel groups (spatial group norm); C must be a multiple of G
xhat : the standardized input
std : ``sqrt(var + eps)``

The one documented exception to "nothing is mutated": in train mode :func:`batchnorm_forward`
(and so :func:`spatial_batchnorm_forward`) stores updated ``'running_mean'`` and
``'running_var'`` in ``bn_param``, as CS231n does. They are stored as new arrays; an array the
caller held before is not written to.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from _rules.cache import unpack_cache
from _rules.geometry import check_array, check_dout, check_param_dict, float_dtype, scalar_value

__all__ = [
    "batchnorm_forward",
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "layernorm_forward",
    "layernorm_backward",
    "spatial_batchnorm_forward",
    "spatial_batchnorm_backward",
    "spatial_groupnorm_forward",
    "spatial_groupnorm_backward",
]

_MODES = ("train", "test")
_BN_CACHE = ("x", "gamma", "beta", "mean", "std", "mode")


def _real(param, name, key, default, low, high, low_open):
    """Read an optional real hyper-parameter from a param dict and check its range."""
    value = scalar_value(param.get(key, default))
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name}['{key}'] must be a real number, got {value!r}")
    too_low = value <= low if low_open else value < low
    if too_low or value > high or value != value:
        interval = f"{'(' if low_open else '['}{low}, {high}]"
        raise ValueError(f"{name}['{key}'] must lie in {interval}, got {value!r}")
    return float(value)


def _check_affine_params(gamma, beta, shape, doc):
    check_array(gamma, "gamma")
    check_array(beta, "beta")
    for name, a in (("gamma", gamma), ("beta", beta)):
        if a.shape != shape:
            raise ValueError(f"{name} must have shape {doc} = {shape}, got shape {a.shape}")


def _check_mode(param, name):
    mode = scalar_value(param["mode"])
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"{name}['mode'] must be 'train' or 'test', got {mode!r}")
    return mode


def _standardized_backward(dxhat, xhat, std, axes):
    """Gradient through ``xhat = (x - mean(x)) / std(x)`` with the statistics taken over ``axes``.

    The closed form: ``dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / std``.
    """
    return (
        dxhat
        - dxhat.mean(axis=axes, keepdims=True)
        - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True)
    ) / std


# ---------------------------------------------------------------------------------------------
# Batch normalization
# ---------------------------------------------------------------------------------------------


class BatchnormCall(NamedTuple):
    """A validated batchnorm forward call: its arrays in the layer dtype and its parameters."""

    x: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    mode: str
    eps: np.floating
    momentum: float
    running_mean: np.ndarray
    running_var: np.ndarray


def batchnorm_call(x, gamma, beta, bn_param) -> BatchnormCall:
    """Validate the arguments of a batchnorm forward (this one and its fast twin) and read ``bn_param``."""
    check_array(x, "x", 2, "(N, D)")
    N, D = x.shape
    _check_affine_params(gamma, beta, (D,), "(D,)")
    check_param_dict(bn_param, "bn_param", ("mode",))
    mode = _check_mode(bn_param, "bn_param")
    eps = _real(bn_param, "bn_param", "eps", 1e-5, 0.0, np.inf, True)
    momentum = _real(bn_param, "bn_param", "momentum", 0.9, 0.0, 1.0, False)
    if mode == "train" and N < 1:
        raise ValueError(
            f"batchnorm in train mode needs at least one example to compute batch statistics, got x shape {x.shape}"
        )
    dtype = float_dtype(x, gamma, beta)
    return BatchnormCall(x.astype(dtype, copy=False), gamma.astype(dtype, copy=False),
                         beta.astype(dtype, copy=False), mode, dtype.type(eps), momentum,
                         _running_stat(bn_param, "running_mean", D, dtype),
                         _running_stat(bn_param, "running_var", D, dtype))


def store_running_stats(bn_param, call, mean, var):
    """Train mode: replace the running statistics by new arrays (the caller may still hold the old ones)."""
    bn_param["running_mean"] = call.momentum * call.running_mean + (1 - call.momentum) * mean
    bn_param["running_var"] = call.momentum * call.running_var + (1 - call.momentum) * var


def batchnorm_forward(x, gamma, beta, bn_param):
    """Normalize each feature over the batch (train) or with running statistics (test).

    Parameters
    ----------
    x : ndarray, shape (N, D)
    gamma : ndarray, shape (D,)
        Scale.
    beta : ndarray, shape (D,)
        Shift.
    bn_param : dict
        ``'mode'`` (required): ``'train'`` or ``'test'``;
        ``'eps'`` (default 1e-5): added to the variance, > 0;
        ``'momentum'`` (default 0.9): in [0, 1],
        ``running = momentum * running + (1 - momentum) * batch_stat``;
        ``'running_mean'``, ``'running_var'`` (shape (D,), default zeros): read in both modes,
        replaced by new arrays in train mode (the documented exception to no mutation).

    Returns
    -------
    out : ndarray, shape (N, D)
    cache : tuple
        ``(x, gamma, beta, mean, std, mode)``: the forward's inputs, the mean (D,) and
        ``std = sqrt(var + eps)`` (D,) used to normalize (batch statistics in train mode,
        running statistics in test mode), and the mode string.
    """
    a = batchnorm_call(x, gamma, beta, bn_param)
    if a.mode == "train":
        mean, var = a.x.mean(axis=0), a.x.var(axis=0)
        store_running_stats(bn_param, a, mean, var)
    else:
        # A copy for the cache: the caller may update bn_param's arrays in place before backward.
        mean, var = a.running_mean.copy(), a.running_var
    std = np.sqrt(var + a.eps)
    out = a.gamma * ((a.x - mean) / std) + a.beta
    return out, (x, gamma, beta, mean, std, a.mode)


def _running_stat(bn_param, key, D, dtype):
    """``bn_param[key]`` checked and in the layer's dtype, or zeros when it is not there yet."""
    value = bn_param.get(key)
    if value is None:
        return np.zeros(D, dtype=dtype)
    check_array(value, f"bn_param['{key}']")
    if value.shape != (D,):
        raise ValueError(f"bn_param['{key}'] must have shape (D,) = ({D},), got shape {value.shape}")
    return value.astype(dtype, copy=False)


def batchnorm_cache(dout, cache, producer):
    """Validate a batchnorm backward's dout and cache; return x, gamma, mean, std, mode and dout in the layer dtype."""
    x, gamma, beta, mean, std, mode = unpack_cache(cache, _BN_CACHE, producer)
    check_array(x, "cache x", 2, "(N, D)")
    D = x.shape[1]
    _check_affine_params(gamma, beta, (D,), "(D,)")
    for name, a in (("mean", mean), ("std", std)):
        if isinstance(a, np.ndarray):
            check_array(a, f"cache {name}")
        if not isinstance(a, np.ndarray) or a.shape != (D,):
            raise ValueError(f"cache {name} must be an array of shape ({D},) as made by {producer}")
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"cache mode must be 'train' or 'test', got {mode!r}")
    check_dout(dout, x.shape, f"the output of {producer}")
    dtype = float_dtype(x, gamma, beta)
    # The forward made mean and std in this dtype; a cache assembled by hand is brought to it too.
    return (x.astype(dtype, copy=False), gamma.astype(dtype, copy=False), mean.astype(dtype, copy=False),
            std.astype(dtype, copy=False), mode, dout.astype(dtype, copy=False))


def batchnorm_backward(dout, cache):
    """Gradients of :func:`batchnorm_forward`, stage by stage through the computation graph.

    Parameters
    ----------
    dout : ndarray, shape (N, D)
    cache : tuple
        ``(x, gamma, beta, mean, std, mode)`` from :func:`batchnorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dgamma : ndarray, shape (D,)
    dbeta : ndarray, shape (D,)
        In test mode the layer is affine in x (fixed running statistics) and
        ``dx = dout * gamma / std``.
    """
    x, gamma, mean, std, mode, g = batchnorm_cache(dout, cache, "batchnorm_forward")
    N = x.shape[0]
    centered = x - mean
    inv_std = 1 / std
    xhat = centered * inv_std
    dbeta = g.sum(axis=0)
    dgamma = (g * xhat).sum(axis=0)
    dxhat = g * gamma
    if mode == "test":
        return dxhat * inv_std, dgamma, dbeta
    # Graph: centered = x - mean(x); var = mean(centered**2); std = sqrt(var + eps);
    # xhat = centered * inv_std. Walk it backwards, summing both paths into `centered`.
    dinv_std = (dxhat * centered).sum(axis=0)
    dstd = -dinv_std * inv_std**2
    dvar = dstd / (2 * std)
    dcentered = dxhat * inv_std + (2 / N) * centered * dvar
    dmean = -dcentered.sum(axis=0)
    return dcentered + dmean / N, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Gradients of :func:`batchnorm_forward` from the simplified closed form.

    ``dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / std`` with ``dxhat = dout * gamma``
    and the means over the batch. Same arguments and results as :func:`batchnorm_backward`.
    """
    x, gamma, mean, std, mode, g = batchnorm_cache(dout, cache, "batchnorm_forward")
    xhat = (x - mean) / std
    dbeta = g.sum(axis=0)
    dgamma = (g * xhat).sum(axis=0)
    dxhat = g * gamma
    if mode == "test":
        return dxhat / std, dgamma, dbeta
    return _standardized_backward(dxhat, xhat, std, 0), dgamma, dbeta


# ---------------------------------------------------------------------------------------------
# Layer normalization
# ---------------------------------------------------------------------------------------------


def layernorm_forward(x, gamma, beta, ln_param):
    """Normalize each example over its features; the same in training and at test time.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    gamma : ndarray, shape (D,)
    beta : ndarray, shape (D,)
    ln_param : dict
        ``'eps'`` (optional, default 1e-5, > 0). Not modified.

    Returns
    -------
    out : ndarray, shape (N, D)
    cache : tuple
        ``(x, gamma, beta, mean, std)``; ``mean`` and ``std`` have shape (N, 1).
    """
    check_array(x, "x", 2, "(N, D)")
    D = x.shape[1]
    if D < 1:
        raise ValueError(f"layernorm needs at least one feature per example (D >= 1), got x shape {x.shape}")
    _check_affine_params(gamma, beta, (D,), "(D,)")
    check_param_dict(ln_param, "ln_param", ())
    eps = _real(ln_param, "ln_param", "eps", 1e-5, 0.0, np.inf, True)
    dtype = float_dtype(x, gamma, beta)
    xf = x.astype(dtype, copy=False)
    mean = xf.mean(axis=1, keepdims=True)
    std = np.sqrt(xf.var(axis=1, keepdims=True) + dtype.type(eps))
    out = gamma.astype(dtype, copy=False) * ((xf - mean) / std) + beta.astype(dtype, copy=False)
    return out, (x, gamma, beta, mean, std)


def layernorm_backward(dout, cache):
    """Gradients of :func:`layernorm_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, D)
    cache : tuple
        ``(x, gamma, beta, mean, std)`` from :func:`layernorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dgamma : ndarray, shape (D,)
    dbeta : ndarray, shape (D,)
    """
    x, gamma, beta, mean, std = unpack_cache(cache, ("x", "gamma", "beta", "mean", "std"), "layernorm_forward")
    check_array(x, "cache x", 2, "(N, D)")
    N, D = x.shape
    _check_affine_params(gamma, beta, (D,), "(D,)")
    for name, a in (("mean", mean), ("std", std)):
        if isinstance(a, np.ndarray):
            check_array(a, f"cache {name}")
        if not isinstance(a, np.ndarray) or a.shape != (N, 1):
            raise ValueError(f"cache {name} must be an array of shape ({N}, 1) as made by layernorm_forward")
    check_dout(dout, x.shape, "the output of layernorm_forward")
    dtype = float_dtype(x, gamma, beta)
    g = dout.astype(dtype, copy=False)
    xhat = (x.astype(dtype, copy=False) - mean) / std
    dgamma = (g * xhat).sum(axis=0)
    dbeta = g.sum(axis=0)
    dx = _standardized_backward(g * gamma.astype(dtype, copy=False), xhat, std, 1)
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------------------------
# Spatial (convolutional) variants
# ---------------------------------------------------------------------------------------------


def _to_rows(a):
    """(N, C, H, W) -> (N*H*W, C): one row per pixel, one column per channel."""
    N, C, H, W = a.shape
    return a.transpose(0, 2, 3, 1).reshape(N * H * W, C)


def _from_rows(a, shape):
    N, C, H, W = shape
    return a.reshape(N, H, W, C).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch-normalize each channel over the batch and all pixels.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma : ndarray, shape (C,)
    beta : ndarray, shape (C,)
    bn_param : dict
        As for :func:`batchnorm_forward` with D = C; its running statistics (shape (C,)) are
        updated in train mode.

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : tuple
        ``(x_shape, bn_cache)``: the input shape and the cache of :func:`batchnorm_forward`
        applied to the (N*H*W, C) matrix of pixels.
    """
    return batchnorm_over_pixels(batchnorm_forward, x, gamma, beta, bn_param)


def batchnorm_over_pixels(batchnorm, x, gamma, beta, bn_param):
    """Apply the batchnorm forward ``batchnorm`` to the (N*H*W, C) matrix of x's pixels.

    Returns ``out`` (N, C, H, W) and the cache ``(x_shape, bn_cache)``; shared by
    :func:`spatial_batchnorm_forward` and its fast twin, which differ only in ``batchnorm``.
    """
    check_array(x, "x", 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    _check_affine_params(gamma, beta, (C,), "(C,)")
    mode = scalar_value(bn_param.get("mode")) if isinstance(bn_param, dict) else None
    if isinstance(mode, str) and mode == "train" and N * H * W == 0:
        raise ValueError(
            f"spatial batchnorm in train mode needs N, H and W >= 1 to compute per-channel "
            f"statistics, got x shape {x.shape}"
        )
    out, bn_cache = batchnorm(_to_rows(x), gamma, beta, bn_param)
    return np.ascontiguousarray(_from_rows(out, x.shape)), (x.shape, bn_cache)


def spatial_batchnorm_backward(dout, cache):
    """Gradients of :func:`spatial_batchnorm_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
    cache : tuple
        ``(x_shape, bn_cache)`` from :func:`spatial_batchnorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dgamma : ndarray, shape (C,)
    dbeta : ndarray, shape (C,)
    """
    x_shape, bn_cache = unpack_cache(cache, ("x_shape", "bn_cache"), "spatial_batchnorm_forward")
    if not (isinstance(x_shape, tuple) and len(x_shape) == 4
            and all(isinstance(s, (int, np.integer)) and s >= 0 for s in x_shape)):
        what = f"shape {x_shape.shape} array" if isinstance(x_shape, np.ndarray) else repr(x_shape)
        raise ValueError(f"cache[0] (x_shape) must be the (N, C, H, W) tuple made by spatial_batchnorm_forward, "
                         f"got {what}")
    check_dout(dout, x_shape, "the output of spatial_batchnorm_forward")
    check_array(dout, "dout", 4, "(N, C, H, W)")
    dx, dgamma, dbeta = batchnorm_backward_alt(_to_rows(dout), bn_cache)
    return np.ascontiguousarray(_from_rows(dx, x_shape)), dgamma, dbeta


def _check_groups(G, C):
    G = scalar_value(G)
    if not isinstance(G, (numbers.Integral, np.integer)) or isinstance(G, (bool, np.bool_)):
        raise TypeError(f"G (number of groups) must be a positive int, got {G!r}")
    if G < 1 or C % G != 0:
        raise ValueError(f"G (number of groups) must be a positive divisor of C = {C}, got G = {G!r}")
    return int(G)


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Normalize each example over groups of C/G channels and all their pixels.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma : ndarray, shape (1, C, 1, 1)
    beta : ndarray, shape (1, C, 1, 1)
    G : int
        Number of groups; must divide C. Channels ``g*C/G .. (g+1)*C/G - 1`` form group g.
    gn_param : dict
        ``'eps'`` (optional, default 1e-5, > 0). Not modified.

    Returns
    -------
    out : ndarray, shape (N, C, H, W)
    cache : tuple
        ``(x, gamma, beta, G, mean, std)``; ``mean`` and ``std`` have shape (N, G, 1).
    """
    check_array(x, "x", 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    if min(C, H, W) < 1:
        raise ValueError(f"group norm needs C, H and W >= 1 to compute group statistics, got x shape {x.shape}")
    _check_affine_params(gamma, beta, (1, C, 1, 1), "(1, C, 1, 1)")
    G = _check_groups(G, C)
    check_param_dict(gn_param, "gn_param", ())
    eps = _real(gn_param, "gn_param", "eps", 1e-5, 0.0, np.inf, True)
    dtype = float_dtype(x, gamma, beta)
    xg = x.astype(dtype, copy=False).reshape(N, G, C // G * H * W)
    mean = xg.mean(axis=2, keepdims=True)
    std = np.sqrt(xg.var(axis=2, keepdims=True) + dtype.type(eps))
    xhat = ((xg - mean) / std).reshape(x.shape)
    out = gamma.astype(dtype, copy=False) * xhat + beta.astype(dtype, copy=False)
    return out, (x, gamma, beta, G, mean, std)


def spatial_groupnorm_backward(dout, cache):
    """Gradients of :func:`spatial_groupnorm_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
    cache : tuple
        ``(x, gamma, beta, G, mean, std)`` from :func:`spatial_groupnorm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dgamma : ndarray, shape (1, C, 1, 1)
    dbeta : ndarray, shape (1, C, 1, 1)
    """
    x, gamma, beta, G, mean, std = unpack_cache(
        cache, ("x", "gamma", "beta", "G", "mean", "std"), "spatial_groupnorm_forward"
    )
    check_array(x, "cache x", 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    _check_affine_params(gamma, beta, (1, C, 1, 1), "(1, C, 1, 1)")
    G = _check_groups(G, C)
    for name, a in (("mean", mean), ("std", std)):
        if isinstance(a, np.ndarray):
            check_array(a, f"cache {name}")
        if not isinstance(a, np.ndarray) or a.shape != (N, G, 1):
            raise ValueError(
                f"cache {name} must be an array of shape ({N}, {G}, 1) as made by spatial_groupnorm_forward"
            )
    check_dout(dout, x.shape, "the output of spatial_groupnorm_forward")
    dtype = float_dtype(x, gamma, beta)
    g = dout.astype(dtype, copy=False)
    xhat = ((x.astype(dtype, copy=False).reshape(N, G, C // G * H * W) - mean) / std).reshape(x.shape)
    dgamma = (g * xhat).sum(axis=(0, 2, 3), keepdims=True)
    dbeta = g.sum(axis=(0, 2, 3), keepdims=True)
    dxhat = (g * gamma.astype(dtype, copy=False)).reshape(N, G, C // G * H * W)
    dx = _standardized_backward(dxhat, xhat.reshape(N, G, C // G * H * W), std, 2).reshape(x.shape)
    return dx, dgamma, dbeta
