"""Max pool whose backward moves from window to window by the pool size, not the stride.

BUG: max_pool_backward_naive uses i * pool_height / j * pool_width as the window origin; the same
as the stride for tiling pools (2x2 stride 2), wrong for 3x3 stride 2 or 2x2 stride 1.
EXPECT: layer=max_pool_backward_naive diagnosis="stride"
"""
import numpy as np


def max_pool_forward_naive(x, pool_param):
    ph = pool_param['pool_height']
    pw = pool_param['pool_width']
    s = pool_param['stride']
    N, C, H, W = x.shape
    Ho = (H - ph) // s + 1
    Wo = (W - pw) // s + 1
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, c, i, j] = x[n, c, i * s:i * s + ph, j * s:j * s + pw].max()
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph = pool_param['pool_height']
    pw = pool_param['pool_width']
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    win = x[n, c, i * ph:i * ph + ph, j * pw:j * pw + pw]
                    a, b = np.unravel_index(np.argmax(win), win.shape)
                    dx[n, c, i * ph + a, j * pw + b] += dout[n, c, i, j]
    return dx
