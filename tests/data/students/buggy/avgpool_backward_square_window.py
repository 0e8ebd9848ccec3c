"""Average pool whose backward divides by pool_height squared.

BUG: avg_pool_backward_naive divides by pool_height * pool_height instead of
pool_height * pool_width: right for square pools, a constant factor off for 3x2 or 2x3 windows.
EXPECT: layer=avg_pool_backward_naive diagnosis="numeric x|factor"
"""
import numpy as np


def avg_pool_forward_naive(x, pool_param):
    PH = pool_param['pool_height']
    PW = pool_param['pool_width']
    S = pool_param['stride']
    N, C, H, W = x.shape
    out_h = (H - PH) // S + 1
    out_w = (W - PW) // S + 1
    out = np.zeros((N, C, out_h, out_w))
    for n in range(N):
        for c in range(C):
            for oh in range(out_h):
                for ow in range(out_w):
                    out[n, c, oh, ow] = np.mean(x[n, c, oh * S:oh * S + PH, ow * S:ow * S + PW])
    return out, (x, pool_param)


def avg_pool_backward_naive(dout, cache):
    x, pool_param = cache
    PH = pool_param['pool_height']
    PW = pool_param['pool_width']
    S = pool_param['stride']
    N, C, out_h, out_w = dout.shape
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for oh in range(out_h):
                for ow in range(out_w):
                    dx[n, c, oh * S:oh * S + PH, ow * S:ow * S + PW] += dout[n, c, oh, ow] / (PH * PH)
    return dx
