"""Conv layer whose dw is accumulated from windows of the unpadded x.

BUG: conv_backward_naive slices the windows for dw out of x instead of the padded x; the windows
near the border come out smaller, and the student silenced the shape error by adding them into the
top-left corner of dw[f]. Right only for pad 0.
EXPECT: layer=conv_backward_naive diagnosis="unpadded|padded x|not padded|without (the )?padding"
"""
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for r in range(H_out):
                for c in range(W_out):
                    region = x_padded[n, :, r * stride:r * stride + HH, c * stride:c * stride + WW]
                    out[n, f, r, c] = (region * w[f]).sum() + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_padded = np.zeros_like(x_padded)
    dw = np.zeros_like(w)
    db = np.sum(dout, axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for r in range(H_out):
                for c in range(W_out):
                    rs, cs = r * stride, c * stride
                    dx_padded[n, :, rs:rs + HH, cs:cs + WW] += w[f] * dout[n, f, r, c]
                    region = x[n, :, rs:rs + HH, cs:cs + WW]
                    dw[f, :, :region.shape[1], :region.shape[2]] += region * dout[n, f, r, c]
    return dx_padded[:, :, pad:pad + H, pad:pad + W], dw, db
