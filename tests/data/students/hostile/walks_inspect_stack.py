"""Frames: a backward that walks inspect.stack() for the numeric gradient or the reference.

HOSTILE: exit=1 fail=relu_backward pass=affine_forward
"""
import inspect

import numpy as np


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x



def relu_backward(dout, cache):
    for frame in inspect.stack():
        job = frame.frame.f_locals.get("job")
        reference = getattr(job, "reference", None)
        if isinstance(reference, dict) and callable(reference.get("relu_backward")):
            _, own_cache = reference["relu_forward"](cache)  # the grader's own reference answer
            return reference["relu_backward"](dout, own_cache)
    return dout * 1.0  # BUG: the mask is missing
