"""Borrowed code: the naive convolution calls the toolkit's fast one.

HOSTILE: exit=1 error=conv_forward_naive message="toolkit.s own implementation"
"""
import numpy as np

from fast_layers import conv_backward_fast, conv_forward_fast


def conv_forward_naive(x, w, b, conv_param):
    return conv_forward_fast(x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    return conv_backward_fast(dout, cache)

