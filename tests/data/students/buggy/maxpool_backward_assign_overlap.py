"""Max pool whose backward writes each window's routed gradient with '=' instead of '+='.

BUG: max_pool_backward_naive assigns dx[window] = mask * dout, which wipes what an earlier
overlapping window put there; right for tiling pools (2x2, stride 2), wrong for 3x3 stride 2.
EXPECT: layer=max_pool_backward_naive diagnosis="[+]=|overwrit"
"""
import numpy as np


def max_pool_forward_naive(x, pool_param):
    HH, WW = pool_param['pool_height'], pool_param['pool_width']
    stride = pool_param['stride']
    N, C, H, W = x.shape
    H_out = 1 + (H - HH) // stride
    W_out = 1 + (W - WW) // stride
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.max(window, axis=(2, 3))
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    HH, WW = pool_param['pool_height'], pool_param['pool_width']
    stride = pool_param['stride']
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            m = np.max(window, axis=(2, 3), keepdims=True)
            mask = (window == m)
            dx[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW] = mask * dout[:, :, i, j][:, :, None, None]
    return dx
