"""Every layer as plain scalar Python loops, the way a first attempt at the assignment looks.

No vectorization at all: conv, affine, ReLU and the SVM loss index one element at a time.
EXPECT: pass
"""
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    stride = conv_param['stride']
    pad = conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    total = b[f]
                    for c in range(C):
                        for k in range(HH):
                            for l in range(WW):
                                r = i * stride + k - pad
                                q = j * stride + l - pad
                                if 0 <= r < H and 0 <= q < W:
                                    total += x[n, c, r, q] * w[f, c, k, l]
                    out[n, f, i, j] = total
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride = conv_param['stride']
    pad = conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    g = dout[n, f, i, j]
                    db[f] += g
                    for c in range(C):
                        for k in range(HH):
                            for l in range(WW):
                                r = i * stride + k - pad
                                q = j * stride + l - pad
                                if 0 <= r < H and 0 <= q < W:
                                    dx[n, c, r, q] += w[f, c, k, l] * g
                                    dw[f, c, k, l] += x[n, c, r, q] * g
    return dx, dw, db


def affine_forward(x, w, b):
    N = x.shape[0]
    xf = x.reshape(N, -1)
    D, M = w.shape
    out = np.zeros((N, M))
    for n in range(N):
        for m in range(M):
            s = b[m]
            for d in range(D):
                s += xf[n, d] * w[d, m]
            out[n, m] = s
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    xf = x.reshape(N, -1)
    D, M = w.shape
    dxf = np.zeros((N, D))
    dw = np.zeros((D, M))
    db = np.zeros(M)
    for n in range(N):
        for m in range(M):
            db[m] += dout[n, m]
            for d in range(D):
                dxf[n, d] += w[d, m] * dout[n, m]
                dw[d, m] += xf[n, d] * dout[n, m]
    return dxf.reshape(x.shape), dw, db


def relu_forward(x):
    out = x.copy()
    flat = out.reshape(-1)
    for k in range(flat.size):
        if flat[k] < 0:
            flat[k] = 0.0
    return out, x


def relu_backward(dout, cache):
    x = cache.reshape(-1)
    dx = dout.copy().reshape(-1)
    for k in range(dx.size):
        if x[k] <= 0:
            dx[k] = 0.0
    return dx.reshape(dout.shape)


def svm_loss(x, y):
    N, C = x.shape
    loss = 0.0
    dx = np.zeros((N, C))
    for i in range(N):
        for j in range(C):
            if j == y[i]:
                continue
            margin = x[i, j] - x[i, y[i]] + 1.0
            if margin > 0:
                loss += margin / N
                dx[i, j] += 1.0 / N
                dx[i, y[i]] -= 1.0 / N
    return loss, dx
