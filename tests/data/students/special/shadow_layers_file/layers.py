"""A student's file named layers.py, checked from its own folder (cwd = the folder).

`python -m gradient_check --module layers.py` run from here would find this file as `layers`:
the checker must still compare with its own references (or refuse, saying what to rename), never
compare the student's affine_forward with itself. The forward forgets the bias and the backward
returns db = 0, so only the forward comparison can catch it.
RUN: cwd=. module=layers.py
EXPECT: exit=1 fail=affine_forward
EXPECT: exit=2 message="rename"
"""
import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w)
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return dout.dot(w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T.dot(dout), np.zeros_like(b)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)
