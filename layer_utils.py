"""Sandwich layers (level 3): common chains of layers as one forward/backward pair.

This is CS231n's ``layer_utils`` module. Each forward calls its pieces in order and returns their
caches as one tuple; each backward runs the pieces' backwards in reverse order. Convolution is the
FAST layer (``fast_layers.conv_forward_fast``), as in CS231n, and ReLU followed by max pooling is
the fused ``fast_layers.pool.relu_max_pool_forward``. ReLU, batchnorm and spatial batchnorm are the
fast twins too (``relu_forward_fast``, ``batchnorm_forward_fast``, ``spatial_batchnorm_forward_fast``),
which give the references' results bit for bit; affine and layernorm are the reference layers of
``layers``.

The module sits above both ``layers`` and ``fast_layers`` and imports them at module level; neither
of them imports it back (tests/test_architecture.py checks the direction of every import).

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
from _rules.geometry import check_array, check_flag, float_dtype
from fast_layers import (
    batchnorm_backward_fast,
    batchnorm_forward_fast,
    conv_backward_fast,
    conv_forward_fast,
    relu_backward_fast,
    relu_forward_fast,
    spatial_batchnorm_backward_fast,
    spatial_batchnorm_forward_fast,
)
from fast_layers.pool import relu_max_pool_backward, relu_max_pool_forward
from layers import affine_backward, affine_forward, layernorm_backward, layernorm_forward

__all__ = [
    "affine_relu_forward",
    "affine_relu_backward",
    "affine_bn_relu_forward",
    "affine_bn_relu_backward",
    "affine_ln_relu_forward",
    "affine_ln_relu_backward",
    "conv_relu_forward",
    "conv_relu_backward",
    "conv_relu_pool_forward",
    "conv_relu_pool_backward",
    "conv_bn_relu_forward",
    "conv_bn_relu_backward",
]


def _promoted(x, w, b, gamma, beta):
    """Return x, w, b cast to the promotion of all five inputs (checked to be numeric arrays first).

    A layer with a normalization inside computes in this one dtype, so the weight gradients come
    back in the same dtype as dgamma and dbeta (float16 images with float64 gamma: all float64).
    """
    for name, arr in (("x", x), ("w", w), ("b", b), ("gamma", gamma), ("beta", beta)):
        check_array(arr, name)
    dtype = float_dtype(x, w, b, gamma, beta)
    return tuple(a.astype(dtype, copy=False) for a in (x, w, b))


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
    out, relu_cache = relu_forward_fast(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache, *, input_grad=True):
    """Gradients of :func:`affine_relu_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
    cache : tuple
        ``(affine_cache, relu_cache)`` from :func:`affine_relu_forward`.

    input_grad : bool, optional
        False skips dx (returned as None): for a net's first layer, whose input is the data.

    Returns
    -------
    dx : ndarray, shape (N, d1, ..., dk), or None
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    """
    input_grad = check_flag(input_grad, "input_grad")  # before any layer of the chain runs
    fc_cache, relu_cache = unpack_cache(cache, ("affine_cache", "relu_cache"), "affine_relu_forward")
    return affine_backward(relu_backward_fast(dout, relu_cache), fc_cache, input_grad=input_grad)


def _affine_norm_relu_forward(norm_forward, x, w, b, gamma, beta, norm_param):
    """Affine, then ``norm_forward`` (batchnorm or layernorm), then ReLU; see the public forwards."""
    xf, wf, bf = _promoted(x, w, b, gamma, beta)
    a, fc_cache = affine_forward(xf, wf, bf)
    an, norm_cache = norm_forward(a, gamma, beta, norm_param)
    out, relu_cache = relu_forward_fast(an)
    return out, (fc_cache, norm_cache, relu_cache)


def _affine_norm_relu_backward(norm_backward, dout, cache, norm_field, producer, input_grad):
    """Gradients of :func:`_affine_norm_relu_forward` with the matching ``norm_backward``."""
    fc_cache, norm_cache, relu_cache = unpack_cache(cache, ("affine_cache", norm_field, "relu_cache"), producer)
    da, dgamma, dbeta = norm_backward(relu_backward_fast(dout, relu_cache), norm_cache)
    dx, dw, db = affine_backward(da, fc_cache, input_grad=input_grad)
    return dx, dw, db, dgamma, dbeta


def affine_bn_relu_forward(x, w, b, gamma, beta, bn_param):
    """Affine layer, batch normalization, then ReLU.

    Parameters
    ----------
    x : ndarray, shape (N, d1, ..., dk)
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)
    gamma : ndarray, shape (M,)
    beta : ndarray, shape (M,)
    bn_param : dict
        As for :func:`layers.batchnorm_forward`; its running statistics are updated in train
        mode (the documented exception to no mutation).

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple
        ``(affine_cache, bn_cache, relu_cache)``; the affine cache holds x, w and b cast to the
        layer's dtype (the promotion of x, w, b, gamma and beta), the dtype of every gradient.
    """
    return _affine_norm_relu_forward(batchnorm_forward_fast, x, w, b, gamma, beta, bn_param)


def affine_bn_relu_backward(dout, cache, *, input_grad=True):
    """Gradients of :func:`affine_bn_relu_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
    cache : tuple
        ``(affine_cache, bn_cache, relu_cache)`` from :func:`affine_bn_relu_forward`.

    input_grad : bool, optional
        False skips dx (returned as None): for a net's first layer, whose input is the data.

    Returns
    -------
    dx : ndarray, shape (N, d1, ..., dk), or None
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    dgamma : ndarray, shape (M,)
    dbeta : ndarray, shape (M,)
    """
    input_grad = check_flag(input_grad, "input_grad")  # before any layer of the chain runs
    return _affine_norm_relu_backward(batchnorm_backward_fast, dout, cache, "bn_cache", "affine_bn_relu_forward",
                                      input_grad)


def affine_ln_relu_forward(x, w, b, gamma, beta, ln_param):
    """Affine layer, layer normalization, then ReLU.

    Parameters
    ----------
    x : ndarray, shape (N, d1, ..., dk)
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)
    gamma : ndarray, shape (M,)
    beta : ndarray, shape (M,)
    ln_param : dict
        As for :func:`layers.layernorm_forward` (``'eps'``); not modified.

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple
        ``(affine_cache, ln_cache, relu_cache)``; the affine cache holds x, w and b cast to the
        layer's dtype (the promotion of x, w, b, gamma and beta), the dtype of every gradient.
    """
    return _affine_norm_relu_forward(layernorm_forward, x, w, b, gamma, beta, ln_param)


def affine_ln_relu_backward(dout, cache, *, input_grad=True):
    """Gradients of :func:`affine_ln_relu_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
    cache : tuple
        ``(affine_cache, ln_cache, relu_cache)`` from :func:`affine_ln_relu_forward`.

    input_grad : bool, optional
        False skips dx (returned as None): for a net's first layer, whose input is the data.

    Returns
    -------
    dx : ndarray, shape (N, d1, ..., dk), or None
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    dgamma : ndarray, shape (M,)
    dbeta : ndarray, shape (M,)
    """
    input_grad = check_flag(input_grad, "input_grad")  # before any layer of the chain runs
    return _affine_norm_relu_backward(layernorm_backward, dout, cache, "ln_cache", "affine_ln_relu_forward",
                                      input_grad)


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
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward_fast(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache, *, input_grad=True):
    """Gradients of :func:`conv_relu_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(conv_cache, relu_cache)`` from :func:`conv_relu_forward`.

    input_grad : bool, optional
        False skips dx (returned as None): for a net's first layer, whose input is the data.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    input_grad = check_flag(input_grad, "input_grad")  # before any layer of the chain runs
    conv_cache, relu_cache = unpack_cache(cache, ("conv_cache", "relu_cache"), "conv_relu_forward")
    return conv_backward_fast(relu_backward_fast(dout, relu_cache), conv_cache, input_grad=input_grad)


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
        Bit for bit ``max_pool_forward_fast(relu_forward_fast(a)[0], pool_param)[0]`` of the
        convolution's output a; the ReLU runs on the pooled output, 4x smaller for a 2x2 pool
        (see ``fast_layers.pool.relu_max_pool_forward``).
    cache : tuple
        ``(conv_cache, relu_cache, pool_cache)``: the convolution's cache, ``(a,)`` (what
        :func:`layers.relu_forward` would keep), and ``(a, pool_param)``.
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, pool_cache = relu_max_pool_forward(a, pool_param)
    return out, (conv_cache, (a,), pool_cache)


def conv_relu_pool_backward(dout, cache, *, input_grad=True):
    """Gradients of :func:`conv_relu_pool_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_pool, W_pool)
    cache : tuple
        ``(conv_cache, relu_cache, pool_cache)`` from :func:`conv_relu_pool_forward`.

    input_grad : bool, optional
        False skips dx (returned as None): for a net's first layer, whose input is the data.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    """
    input_grad = check_flag(input_grad, "input_grad")  # before any layer of the chain runs
    conv_cache, _relu_cache, pool_cache = unpack_cache(
        cache, ("conv_cache", "relu_cache", "pool_cache"), "conv_relu_pool_forward"
    )
    # The ReLU's backward is fused into the pool's (one pass instead of three; same bits as
    # relu_backward_fast(max_pool_backward(...))): see fast_layers.pool.relu_max_pool_backward.
    return conv_backward_fast(relu_max_pool_backward(dout, pool_cache), conv_cache, input_grad=input_grad)


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
    xf, wf, bf = _promoted(x, w, b, gamma, beta)
    a, conv_cache = conv_forward_fast(xf, wf, bf, conv_param)
    an, bn_cache = spatial_batchnorm_forward_fast(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward_fast(an)
    return out, (conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(dout, cache, *, input_grad=True):
    """Gradients of :func:`conv_bn_relu_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, H_out, W_out)
    cache : tuple
        ``(conv_cache, bn_cache, relu_cache)`` from :func:`conv_bn_relu_forward`.

    input_grad : bool, optional
        False skips dx (returned as None): for a net's first layer, whose input is the data.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W), or None
    dw : ndarray, shape (F, C, HH, WW)
    db : ndarray, shape (F,)
    dgamma : ndarray, shape (F,)
    dbeta : ndarray, shape (F,)
    """
    input_grad = check_flag(input_grad, "input_grad")  # before any layer of the chain runs
    conv_cache, bn_cache, relu_cache = unpack_cache(
        cache, ("conv_cache", "bn_cache", "relu_cache"), "conv_bn_relu_forward"
    )
    dan, dgamma, dbeta = spatial_batchnorm_backward_fast(relu_backward_fast(dout, relu_cache), bn_cache)
    dx, dw, db = conv_backward_fast(dan, conv_cache, input_grad=input_grad)
    return dx, dw, db, dgamma, dbeta
