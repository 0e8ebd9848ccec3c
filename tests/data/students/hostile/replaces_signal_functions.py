"""Hangs: signal.signal, alarm and setitimer replaced, SIGALRM ignored, then a backward that never returns.

HOSTILE: exit=1 error=relu_forward pass=affine_forward message="time limit"
"""
import signal

import numpy as np

signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.signal = lambda *a, **k: None
signal.alarm = lambda *a, **k: 0
signal.setitimer = lambda *a, **k: (0.0, 0.0)


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x



def relu_backward(dout, cache):
    while True:
        pass

