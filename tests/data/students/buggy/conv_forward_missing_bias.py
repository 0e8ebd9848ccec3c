"""Vectorized (einsum) conv layer that never adds the bias.

BUG: conv_forward_naive forgets "+ b"; the backward still returns db = dout summed, so the
forward output and the db check are both wrong.
EXPECT: layer=conv_forward_naive
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param['stride'], conv_param['pad']
    F, C, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    windows = sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::s, ::s]   # N, C, Ho, Wo, HH, WW
    out = np.einsum('nchwij,fcij->nfhw', windows, w)
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    s, p = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    windows = sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::s, ::s]
    dw = np.einsum('nchwij,nfhw->fcij', windows, dout)
    db = dout.sum(axis=(0, 2, 3))
    dxp = np.zeros_like(xp)
    Ho, Wo = dout.shape[2:]
    for i in range(HH):
        for j in range(WW):
            dxp[:, :, i:i + s * Ho:s, j:j + s * Wo:s] += np.einsum('nfhw,fc->nchw', dout, w[:, :, i, j])
    return dxp[:, :, p:p + H, p:p + W], dw, db
