"""Convenience "sandwich" layers: common chains of layers as one forward/backward pair.

Each forward calls the pieces in order and keeps their caches in one tuple; each backward runs
the pieces' backwards in reverse order. The convolution and pooling pieces are the FAST ones
(``fast_layers.conv_forward_fast``, ``fast_layers.max_pool_forward_fast``), as in CS231n.

Why fast_layers is imported inside the functions: ``fast_layers.conv`` imports
``layers._geometry``, which runs ``layers/__init__.py``, which imports this module. A module-level
``from fast_layers import ...`` here would therefore ask for a half-initialized module whenever
``fast_layers`` is imported first. Importing at call time, when both packages are complete,
avoids the cycle whatever the import order.

Notation
--------
N : batch size
d1, ..., dk : trailing dimensions of an affine input; D = d1 * ... * dk
M : affine output features
C : input channels; F : filters; HH, WW : filter height and width
H, W : input height and width; H_out, W_out : convolution output size
H_pool, W_pool : pooling output size
"""

from __future__ import annotations

from _rules.cache import unpack_cache
from _rules.geometry import check_array, float_dtype
from .dense import affine_backward, affine_forward, relu_backward, relu_forward
from .norm import spatial_batchnorm_backward, spatial_batchnorm_forward

__all__ = [
    "affine_relu_forward",
    "affine_relu_backward",
    "conv_relu_forward",
    "conv_relu_backward",
    "conv_relu_pool_forward",
    "conv_relu_pool_backward",
    "conv_bn_relu_forward",
    "conv_bn_relu_backward",
]


def _fast_conv():
    import fast_layers.conv  # noqa: PLC0415  (call-time import: see the module docstring)

    return fast_layers.conv


def _fast_pool():
    import fast_layers.pool  # noqa: PLC0415

    return fast_layers.pool


def affine_relu_forward(x, w, b):
    """Affine layer followed by ReLU.

    Parameters
    ----------
    x : ndarray, shape (N, d1, ..., dk)
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple
        ``(affine_cache, relu_cache)`` from :func:`layers.affine_forward` and :func:`layers.relu_forward`.
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Gradients of :func:`affine_relu_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
    cache : tuple
        ``(affine_cache, relu_cache)`` from :func:`affine_relu_forward`.

    Returns
    -------
    dx : ndarray, shape (N, d1, ..., dk)
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    """
    fc_cache, relu_cache = unpack_cache(cache, ("affine_cache", "relu_cache"), "affine_relu_forward")
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def conv_relu_forward(x, w, b, conv_param):
    """Fast convolution followed by ReLU.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, HH, WW)
    b : ndarray, shape (F,)
    conv_param : dict
        ``'stride'``, ``'pad'`` and optional ``'dilation'`` (see :func:`layers.conv_forward_naive`).

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(conv_cache, relu_cache)`` from ``fast_layers.conv_forward_fast`` and :func:`layers.relu_forward`.
    """
    a, conv_cache = _fast_conv().conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    """Gradients of :func:`conv_relu_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(conv_cache, relu_cache)`` from :func:`conv_relu_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    conv_cache, relu_cache = unpack_cache(cache, ("conv_cache", "relu_cache"), "conv_relu_forward")
    return _fast_conv().conv_backward_fast(relu_backward(dout, relu_cache), conv_cache)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Fast convolution, ReLU, then fast max pooling.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, HH, WW)
    b : ndarray, shape (F,)
    conv_param : dict
        ``'stride'``, ``'pad'`` and optional ``'dilation'``.
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` and ``'stride'``.

    Returns
    -------
    out : ndarray, shape (N, F, H_pool, W_pool)
    cache : tuple
        ``(conv_cache, relu_cache, pool_cache)``.
    """
    a, conv_cache = _fast_conv().conv_forward_fast(x, w, b, conv_param)
    r, relu_cache = relu_forward(a)
    out, pool_cache = _fast_pool().max_pool_forward_fast(r, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    """Gradients of :func:`conv_relu_pool_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_pool, W_pool)
    cache : tuple
        ``(conv_cache, relu_cache, pool_cache)`` from :func:`conv_relu_pool_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    conv_cache, relu_cache, pool_cache = unpack_cache(
        cache, ("conv_cache", "relu_cache", "pool_cache"), "conv_relu_pool_forward"
    )
    dr = _fast_pool().max_pool_backward_fast(dout, pool_cache)
    return _fast_conv().conv_backward_fast(relu_backward(dr, relu_cache), conv_cache)


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """Fast convolution, spatial batch normalization, then ReLU.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, HH, WW)
    b : ndarray, shape (F,)
    gamma : ndarray, shape (F,)
    beta : ndarray, shape (F,)
    conv_param : dict
        ``'stride'``, ``'pad'`` and optional ``'dilation'``.
    bn_param : dict
        As for :func:`layers.spatial_batchnorm_forward`; its running statistics are updated in
        train mode (the documented exception to no mutation).

    Returns
    -------
    out : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(conv_cache, bn_cache, relu_cache)``; the convolution's cache holds x, w and b cast to
        the layer's dtype (the promotion of x, w, b, gamma and beta), which is also the dtype of
        every gradient.
    """
    for name, arr in (("x", x), ("w", w), ("b", b), ("gamma", gamma), ("beta", beta)):
        check_array(arr, name)
    # The layer computes in the promotion of all five inputs, so that the convolution's
    # gradients come back in the same dtype as dgamma and dbeta (e.g. float16 images with
    # float64 gamma: everything in float64).
    dtype = float_dtype(x, w, b, gamma, beta)
    xf, wf, bf = (a.astype(dtype, copy=False) for a in (x, w, b))
    a, conv_cache = _fast_conv().conv_forward_fast(xf, wf, bf, conv_param)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, (conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(dout, cache):
    """Gradients of :func:`conv_bn_relu_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(conv_cache, bn_cache, relu_cache)`` from :func:`conv_bn_relu_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    dgamma : ndarray, shape (F,)
    dbeta : ndarray, shape (F,)
    """
    conv_cache, bn_cache, relu_cache = unpack_cache(
        cache, ("conv_cache", "bn_cache", "relu_cache"), "conv_bn_relu_forward"
    )
    dan, dgamma, dbeta = spatial_batchnorm_backward(relu_backward(dout, relu_cache), bn_cache)
    dx, dw, db = _fast_conv().conv_backward_fast(dan, conv_cache)
    return dx, dw, db, dgamma, dbeta
