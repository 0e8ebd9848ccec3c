"""The first strides convolution of cnnkit (commit b0ae0df), kept as the benchmark's "v0" column.

It pads x with ``np.pad``, copies an ``as_strided`` window view into x_cols, takes one GEMM
into a fresh (F, N*H_out*W_out) array and transposes it into the output; its backward builds
the full (K, N*H_out*W_out) column gradient and folds it with the ``col2im_6d`` kernel. No
validation: the benchmark only calls it with the shapes it also gives the real layer.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from fast_layers._kernels import col2im_6d
from _rules.geometry import conv_geometry


def conv_forward_v0(x, w, b, conv_param):
    """Strides forward of the first version; same arguments and cache as the layer."""
    g = conv_geometry(x.shape, w.shape, conv_param)
    ph, pw = g.pad
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    sN, sC, sH, sW = xp.strides
    (sh, sw), (dh, dw) = g.stride, g.dilation
    view = as_strided(xp, shape=(g.C, g.HH, g.WW, g.N, g.H_out, g.W_out),
                      strides=(sC, dh * sH, dw * sW, sN, sh * sH, sw * sW), writeable=False)
    x_cols = np.ascontiguousarray(view).reshape(g.cols_shape)
    res = w.reshape(g.F, -1) @ x_cols
    res += b[:, None]
    out = res.reshape(g.F, g.N, g.H_out, g.W_out).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(out), (x, w, b, conv_param, x_cols)


def conv_backward_v0(dout, cache):
    """Strides backward of the first version."""
    x, w, b, conv_param, x_cols = cache
    g = conv_geometry(x.shape, w.shape, conv_param)
    db = dout.sum(axis=(0, 2, 3))
    g2 = dout.transpose(1, 0, 2, 3).reshape(g.F, -1)
    dw = (g2 @ x_cols.T).reshape(w.shape)
    dx_cols = w.reshape(g.F, -1).T @ g2
    dx_cols = dx_cols.reshape(g.C, g.HH, g.WW, g.N, g.H_out, g.W_out)
    dx = col2im_6d(dx_cols, g.N, g.C, g.H, g.W, g.HH, g.WW, g.pad, g.stride, g.dilation)
    return dx, dw, db
