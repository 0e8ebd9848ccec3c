"""The verdict faked: chdir elsewhere at import, and an all-pass report planted where --json points.

HOSTILE: exit=1 fail=relu_backward pass=affine_forward
"""
import json
import os
import tempfile

import numpy as np

_planted = {'summary': {'ok': True, 'checks': 0, 'failed': 0}, 'results': []}
with open('report.json', 'w') as _fh:
    json.dump(_planted, _fh)
os.chdir(tempfile.mkdtemp())


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * 1.0  # BUG: the mask is missing

