"""Conv layer whose dx is computed with the kernel rotated by 180 degrees.

BUG: conv_backward_naive uses w[f, :, ::-1, ::-1] for dx (the student remembered that the
backward of a convolution "is a convolution with the flipped kernel", and then flipped it inside
a scatter loop that already accounts for it). dw and db are right.
EXPECT: layer=conv_backward_naive diagnosis="flip|rotated"
"""
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    S, P = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    Hp = (H + 2 * P - HH) // S + 1
    Wp = (W + 2 * P - WW) // S + 1
    xp = np.pad(x, [(0, 0), (0, 0), (P, P), (P, P)])
    out = np.empty((N, F, Hp, Wp))
    w_flat = w.reshape(F, -1)
    for i in range(Hp):
        for j in range(Wp):
            patch = xp[:, :, i * S:i * S + HH, j * S:j * S + WW].reshape(N, -1)
            out[:, :, i, j] = patch @ w_flat.T + b
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    S, P = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    _, _, Hp, Wp = dout.shape
    xp = np.pad(x, [(0, 0), (0, 0), (P, P), (P, P)])
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    db = dout.sum(axis=(0, 2, 3))
    w_rot = w[:, :, ::-1, ::-1]
    for i in range(Hp):
        for j in range(Wp):
            patch = xp[:, :, i * S:i * S + HH, j * S:j * S + WW]
            d = dout[:, :, i, j]                      # (N, F)
            dw += np.tensordot(d, patch, axes=([0], [0]))
            dxp[:, :, i * S:i * S + HH, j * S:j * S + WW] += np.tensordot(d, w_rot, axes=([1], [0]))
    return dxp[:, :, P:P + H, P:P + W], dw, db
