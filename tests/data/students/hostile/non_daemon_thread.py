"""Hangs: a non-daemon thread started at import that never ends (and a wrong relu_backward).

HOSTILE: exit=1 fail=relu_backward pass=affine_forward
"""
import threading
import time

import numpy as np


def _forever():
    while True:
        time.sleep(0.05)


threading.Thread(target=_forever, daemon=False).start()


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * 1.0  # BUG: the mask is missing

