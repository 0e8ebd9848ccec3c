"""Max and average pooling with scalar loops; max-pool ties go to the LAST maximum of the window.

The toolkit routes a tied window's gradient to its first maximum; routing it to the last is just
as valid (a subgradient), and random inputs have no ties anyway. Overlapping windows accumulate
with +=.
EXPECT: pass
"""
import numpy as np


def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best = -np.inf
                    for a in range(ph):
                        for b in range(pw):
                            v = x[n, c, i * s + a, j * s + b]
                            if v > best:
                                best = v
                    out[n, c, i, j] = best
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best, at = -np.inf, None
                    for a in range(ph):
                        for b in range(pw):
                            v = x[n, c, i * s + a, j * s + b]
                            if v >= best:          # >= keeps the last maximum
                                best, at = v, (i * s + a, j * s + b)
                    dx[n, c, at[0], at[1]] += dout[n, c, i, j]
    return dx


def avg_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = np.zeros((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    total = 0.0
                    for a in range(ph):
                        for b in range(pw):
                            total += x[n, c, i * s + a, j * s + b]
                    out[n, c, i, j] = total / (ph * pw)
    return out, (x.shape, pool_param)


def avg_pool_backward_naive(dout, cache):
    x_shape, pool_param = cache
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, Ho, Wo = dout.shape
    dx = np.zeros(x_shape)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    for a in range(ph):
                        for b in range(pw):
                            dx[n, c, i * s + a, j * s + b] += dout[n, c, i, j] / (ph * pw)
    return dx
