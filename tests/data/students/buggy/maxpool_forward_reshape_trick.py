"""Max pool written with the reshape trick, which only works when the windows tile the input.

BUG: max_pool_forward_naive reshapes x to (N, C, H/ph, ph, W/pw, pw) and takes the max, ignoring
the stride: right for 2x2 stride 2 on even sizes, wrong for overlapping windows (stride < pool).
The backward is consistent with that forward, so only the forward comparison shows it.
EXPECT: layer=max_pool_forward_naive
"""
import numpy as np


def max_pool_forward_naive(x, pool_param):
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    N, C, H, W = x.shape
    Ho, Wo = H // ph, W // pw
    x_crop = x[:, :, :Ho * ph, :Wo * pw]
    blocks = x_crop.reshape(N, C, Ho, ph, Wo, pw)
    out = blocks.max(axis=(3, 5))
    return out, (x, blocks, out, pool_param)


def max_pool_backward_naive(dout, cache):
    x, blocks, out, pool_param = cache
    N, C, Ho, ph, Wo, pw = blocks.shape
    mask = blocks == out[:, :, :, None, :, None]
    dblocks = mask * dout[:, :, :, None, :, None]
    dx = np.zeros_like(x)
    dx[:, :, :Ho * ph, :Wo * pw] = dblocks.reshape(N, C, Ho * ph, Wo * pw)
    return dx
