"""im2col-style conv layer whose dw has its kernel axes swapped.

BUG: conv_backward_naive returns dw with its last two axes swapped (a stray .transpose(0, 1, 3, 2)
left over from debugging); the shape still fits for square kernels.
EXPECT: layer=conv_backward_naive diagnosis="transpos"
"""
import numpy as np


def _columns(x, HH, WW, stride, pad):
    N, C, H, W = x.shape
    Ho = (H + 2 * pad - HH) // stride + 1
    Wo = (W + 2 * pad - WW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.zeros((C * HH * WW, N * Ho * Wo))
    k = 0
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                cols[:, k] = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW].ravel()
                k += 1
    return cols, Ho, Wo


def conv_forward_naive(x, w, b, conv_param):
    F, C, HH, WW = w.shape
    N = x.shape[0]
    cols, Ho, Wo = _columns(x, HH, WW, conv_param['stride'], conv_param['pad'])
    out = w.reshape(F, -1) @ cols + b[:, None]                 # F, N*Ho*Wo
    out = out.reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)
    return out, (x, w, b, conv_param, cols)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param, cols = cache
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    dout_flat = dout.transpose(1, 0, 2, 3).reshape(F, -1)      # F, N*Ho*Wo
    db = dout_flat.sum(axis=1)
    dw = (dout_flat @ cols.T).reshape(F, C, HH, WW).transpose(0, 1, 3, 2)
    dcols = w.reshape(F, -1).T @ dout_flat                    # C*HH*WW, N*Ho*Wo
    Ho, Wo = dout.shape[2:]
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    k = 0
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                dxp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += dcols[:, k].reshape(C, HH, WW)
                k += 1
    return dxp[:, :, pad:pad + H, pad:pad + W], np.ascontiguousarray(dw), db
