"""Affine, ReLU, conv and max pool that compute in float32, whatever the input dtype.

A student who casts everything to float32 "because the GPU does" writes correct layers whose
results carry float32 rounding; the checker must judge them by the float32 rule, not fail them.
EXPECT: pass
"""
import numpy as np

f32 = np.float32


def affine_forward(x, w, b):
    x32, w32, b32 = x.astype(f32), w.astype(f32), b.astype(f32)
    out = x32.reshape(x.shape[0], -1) @ w32 + b32
    return out, (x32, w32)


def affine_backward(dout, cache):
    x32, w32 = cache
    d = dout.astype(f32)
    dx = (d @ w32.T).reshape(x32.shape)
    dw = x32.reshape(x32.shape[0], -1).T @ d
    db = d.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    x32 = x.astype(f32)
    return np.maximum(x32, f32(0)), x32


def relu_backward(dout, cache):
    return dout.astype(f32) * (cache > 0)


def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param['stride'], conv_param['pad']
    x32 = np.pad(x.astype(f32), ((0, 0), (0, 0), (p, p), (p, p)))
    w32, b32 = w.astype(f32), b.astype(f32)
    N, C, Hp, Wp = x32.shape
    F, _, HH, WW = w.shape
    Ho, Wo = (Hp - HH) // s + 1, (Wp - WW) // s + 1
    out = np.zeros((N, F, Ho, Wo), dtype=f32)
    for i in range(Ho):
        for j in range(Wo):
            patch = x32[:, :, i * s:i * s + HH, j * s:j * s + WW].reshape(N, -1)
            out[:, :, i, j] = patch @ w32.reshape(F, -1).T + b32
    return out, (x.shape, x32, w32, conv_param)


def conv_backward_naive(dout, cache):
    x_shape, x32, w32, conv_param = cache
    s, p = conv_param['stride'], conv_param['pad']
    N, C, H, W = x_shape
    F, _, HH, WW = w32.shape
    d = dout.astype(f32)
    dxp = np.zeros_like(x32)
    dw = np.zeros_like(w32)
    for i in range(d.shape[2]):
        for j in range(d.shape[3]):
            patch = x32[:, :, i * s:i * s + HH, j * s:j * s + WW].reshape(N, -1)
            dw += (d[:, :, i, j].T @ patch).reshape(w32.shape)
            dxp[:, :, i * s:i * s + HH, j * s:j * s + WW] += (d[:, :, i, j] @ w32.reshape(F, -1)).reshape(N, C, HH, WW)
    return dxp[:, :, p:p + H, p:p + W], dw, d.sum(axis=(0, 2, 3))


def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    x32 = x.astype(f32)
    N, C, H, W = x.shape
    Ho, Wo = (H - ph) // s + 1, (W - pw) // s + 1
    out = np.empty((N, C, Ho, Wo), dtype=f32)
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x32[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
    return out, (x32, pool_param)


def max_pool_backward_naive(dout, cache):
    x32, pool_param = cache
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C = x32.shape[:2]
    dx = np.zeros_like(x32)
    d = dout.astype(f32)
    for i in range(d.shape[2]):
        for j in range(d.shape[3]):
            win = x32[:, :, i * s:i * s + ph, j * s:j * s + pw].reshape(N, C, -1)
            k = win.argmax(axis=2)
            r, q = np.divmod(k, pw)
            nn, cc = np.meshgrid(np.arange(N), np.arange(C), indexing='ij')
            np.add.at(dx, (nn, cc, i * s + r, j * s + q), d[:, :, i, j])
    return dx
