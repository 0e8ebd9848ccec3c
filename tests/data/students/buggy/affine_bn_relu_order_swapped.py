"""The fc_net helper affine -> batchnorm -> ReLU, written with the ReLU before the batchnorm.

BUG: affine_bn_relu_forward computes batchnorm(relu(affine(x))) instead of
relu(batchnorm(affine(x))); its backward undoes the same wrong order, so only the forward output
shows it.
EXPECT: layer=affine_bn_relu_forward
"""
from layers import (affine_backward, affine_forward, batchnorm_backward, batchnorm_forward, relu_backward,
                    relu_forward)


def affine_bn_relu_forward(x, w, b, gamma, beta, bn_param):
    a, fc_cache = affine_forward(x, w, b)
    r, relu_cache = relu_forward(a)
    out, bn_cache = batchnorm_forward(r, gamma, beta, bn_param)
    return out, (fc_cache, relu_cache, bn_cache)


def affine_bn_relu_backward(dout, cache):
    fc_cache, relu_cache, bn_cache = cache
    dr, dgamma, dbeta = batchnorm_backward(dout, bn_cache)
    da = relu_backward(dr, relu_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta
