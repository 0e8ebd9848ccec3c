import numpy as np


def affine_forward(x, w, b):
    out = None
    # TODO: implement the affine forward pass.
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    dx, dw, db = None, None, None
    # TODO: implement the affine backward pass.
    return dx, dw, db


def relu_forward(x):
    out = None
    # TODO: implement the ReLU forward pass.
    cache = x
    return out, cache


def relu_backward(dout, cache):
    dx, x = None, cache
    # TODO: implement the ReLU backward pass.
    return dx


def softmax_loss(x, y):
    loss, dx = None, None
    # TODO: implement the softmax loss.
    return loss, dx


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    out, cache = None, None
    # TODO: implement the batchnorm forward pass (train and test modes).
    return out, cache


def batchnorm_backward(dout, cache):
    dx, dgamma, dbeta = None, None, None
    # TODO: implement the batchnorm backward pass.
    return dx, dgamma, dbeta
