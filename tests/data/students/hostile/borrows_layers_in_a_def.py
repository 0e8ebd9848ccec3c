"""Borrowed code: affine_forward/affine_backward are defs that call the toolkit's own layers.

HOSTILE: exit=1 error=affine_forward message="toolkit.s own implementation"
"""
import numpy as np

import layers


def affine_forward(x, w, b):
    return layers.affine_forward(x, w, b)


def affine_backward(dout, cache):
    return layers.affine_backward(dout, cache)

