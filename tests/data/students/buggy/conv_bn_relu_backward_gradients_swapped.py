"""Conv-batchnorm-ReLU sandwich whose backward returns dgamma and dbeta in swapped order.

BUG: conv_bn_relu_backward returns (dx, dw, db, dbeta, dgamma); shapes agree, values do not.
Built on the toolkit's layers, as CS231n's layer_utils.py is.
EXPECT: layer=conv_bn_relu_backward
"""
from fast_layers import conv_backward_fast, conv_forward_fast
from layers import relu_backward, relu_forward, spatial_batchnorm_backward, spatial_batchnorm_forward


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, (conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(dout, cache):
    conv_cache, bn_cache, relu_cache = cache
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = spatial_batchnorm_backward(dan, bn_cache)
    dx, dw, db = conv_backward_fast(da, conv_cache)
    return dx, dw, db, dbeta, dgamma
