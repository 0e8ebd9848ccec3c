"""Conv-ReLU sandwich whose forward returns the conv output instead of the ReLU output.

BUG: conv_relu_forward returns `a` (before the ReLU) as its output; the backward applies the ReLU
mask, so both the forward output and the gradients are wrong.
EXPECT: layer=conv_relu_forward
"""
from fast_layers import conv_backward_fast, conv_forward_fast
from layers import relu_backward, relu_forward


def conv_relu_forward(x, w, b, conv_param):
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    cache = (conv_cache, relu_cache)
    return a, cache


def conv_relu_backward(dout, cache):
    conv_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)
    return dx, dw, db
