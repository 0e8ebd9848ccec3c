"""Conv-ReLU-pool sandwich whose backward spreads dout over each pooling window.

BUG: conv_relu_pool_backward upsamples dout with np.repeat, giving every element of a pooling
window the window's gradient, instead of routing it to the window's maximum
(max_pool_backward_fast).
EXPECT: layer=conv_relu_pool_backward
"""
import numpy as np

from fast_layers import conv_backward_fast, conv_forward_fast, max_pool_forward_fast
from layers import relu_backward, relu_forward


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache, pool_param)


def conv_relu_pool_backward(dout, cache):
    conv_cache, relu_cache, pool_cache, pool_param = cache
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    ds = np.repeat(np.repeat(dout, ph, axis=2), pw, axis=3)
    da = relu_backward(ds, relu_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)
    return dx, dw, db
