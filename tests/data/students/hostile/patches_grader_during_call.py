"""Lies to the judge: patches the grader's functions from inside the first forward call.

HOSTILE: exit=1 fail=relu_backward pass=affine_forward
"""
import sys

import numpy as np

_done = []


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)



def relu_forward(x):
    if not _done:
        _done.append(1)
        for name, mod in list(sys.modules.items()):
            if 'gradcheck' in name or name == 'gradient_check':
                for attr in ('_judge_full', 'compare', 'check_layer', 'diagnose_failures'):
                    if hasattr(mod, attr):
                        setattr(mod, attr, lambda *a, **k: None)
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * 1.0  # BUG: the mask is missing

