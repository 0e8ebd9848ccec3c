"""A naive convolution with dilation right in the forward but ignored in the backward.

BUG: the backward places every filter tap next to the previous one (dilation 1) whatever conv_param says.
The only N = 1 layout is not dilated, so "right on every N = 1 layout, wrong for N > 1" would mislead:
the layouts that fail differ from the passing N = 1 one in their dilation, not in their batch size.
GRADE: exit=1 fail=conv_forward_naive nodiag="N = 1"
ARGS: --extended --only conv_forward_naive
"""
import numpy as np


def _pair(v):
    return (v, v) if np.isscalar(v) else tuple(v)


def conv_forward_naive(x, w, b, conv_param):
    sh, sw = _pair(conv_param["stride"])
    ph, pw = _pair(conv_param["pad"])
    dh, dw = _pair(conv_param.get("dilation", 1))
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho = (H + 2 * ph - dh * (HH - 1) - 1) // sh + 1
    Wo = (W + 2 * pw - dw * (WW - 1) - 1) // sw + 1
    out = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            win = xp[:, :, i * sh:i * sh + dh * (HH - 1) + 1:dh, j * sw:j * sw + dw * (WW - 1) + 1:dw]
            out[:, :, i, j] = np.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    sh, sw = _pair(conv_param["stride"])
    ph, pw = _pair(conv_param["pad"])
    dh, dw_ = 1, 1  # BUG: conv_param's dilation ignored
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            sl = (slice(None), slice(None), slice(i * sh, i * sh + dh * (HH - 1) + 1, dh),
                  slice(j * sw, j * sw + dw_ * (WW - 1) + 1, dw_))
            dw += np.tensordot(dout[:, :, i, j], xp[sl], axes=([0], [0]))
            dxp[sl] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    dx = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))
