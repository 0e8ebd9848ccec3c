"""Frames: a backward that raises the pass threshold through sys._getframe().

HOSTILE: exit=1 fail=relu_backward pass=affine_forward
"""
import sys

import numpy as np


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x



def relu_backward(dout, cache):
    f = sys._getframe()
    while f is not None:
        for key in ('rtol', 'tol'):
            if key in f.f_locals:
                f.f_locals[key] = 1.0
        run = f.f_locals.get('run')
        if run is not None and hasattr(run, 'rule'):
            try:
                object.__setattr__(run.rule, 'rtol', 1.0)
            except Exception:
                pass
        f = f.f_back
    return dout * 1.0  # BUG: the mask is missing

