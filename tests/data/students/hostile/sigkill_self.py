"""No report today: a backward that sends SIGKILL to its own process.

HOSTILE: exit=1 error=relu_forward pass=affine_forward message="SIGKILL"
"""
import os
import signal

import numpy as np


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x



def relu_backward(dout, cache):
    os.kill(os.getpid(), signal.SIGKILL)

