"""Convolution written with sliding_window_view and einsum; dx scattered with np.add.at.

Correct for any int stride and pad. Written differently from the toolkit on purpose: windows are
a strided view of the padded input, the forward and dw are single einsums, and dx is scattered
back into the padded gradient with np.add.at over explicit index arrays.
EXPECT: pass
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _windows(x, HH, WW, stride, pad):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = sliding_window_view(xp, (HH, WW), axis=(2, 3))      # N, C, Hp-HH+1, Wp-WW+1, HH, WW
    return xp, win[:, :, ::stride, ::stride]


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param['stride'], conv_param['pad']
    F, C, HH, WW = w.shape
    _, win = _windows(x, HH, WW, stride, pad)
    out = np.einsum('ncijkl,fckl->nfij', win, w, optimize=True) + b[None, :, None, None]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp, win = _windows(x, HH, WW, stride, pad)
    Ho, Wo = dout.shape[2], dout.shape[3]
    db = np.einsum('nfij->f', dout)
    dw = np.einsum('ncijkl,nfij->fckl', win, dout, optimize=True)
    dwin = np.einsum('nfij,fckl->ncijkl', dout, w, optimize=True)     # gradient of every window element
    rows = (np.arange(Ho) * stride)[:, None] + np.arange(HH)[None, :]    # Ho, HH
    cols = (np.arange(Wo) * stride)[:, None] + np.arange(WW)[None, :]    # Wo, WW
    r = rows[:, None, :, None]                                          # Ho, 1, HH, 1
    c = cols[None, :, None, :]                                          # 1, Wo, 1, WW
    r, c = np.broadcast_arrays(r, c)
    dxp = np.zeros_like(xp)
    n_idx = np.arange(N)[:, None, None, None, None, None]
    c_idx = np.arange(C)[None, :, None, None, None, None]
    np.add.at(dxp, (n_idx, c_idx, r[None, None], c[None, None]), dwin)
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db
