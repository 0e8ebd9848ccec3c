"""Conv layer whose dx overwrites the contributions of overlapping windows.

BUG: conv_backward_naive writes dx_pad[window] = ... instead of +=, so a pixel covered by several
windows keeps only the last one's contribution.
EXPECT: layer=conv_backward_naive diagnosis="[+]=|overwrit"
"""
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho = 1 + (H + 2 * pad - HH) // stride
    Wo = 1 + (W + 2 * pad - WW) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(xp[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW] * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                rows = slice(i * stride, i * stride + HH)
                cols = slice(j * stride, j * stride + WW)
                dxp[n, :, rows, cols] = np.sum(w * dout[n, :, i, j][:, None, None, None], axis=0)
                for f in range(F):
                    dw[f] += xp[n, :, rows, cols] * dout[n, f, i, j]
                    db[f] += dout[n, f, i, j]
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db
