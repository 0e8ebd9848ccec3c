"""Lies to the judge: its wrong relu_backward claims (co_filename) to be the toolkit's own code.

HOSTILE: exit=1 error=relu_forward pass=affine_forward message="toolkit.s own implementation"
"""
import os
import sys
from pathlib import Path

import numpy as np


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * 1.0  # BUG: the mask is missing


# the toolkit's file, as a student who knows where the toolkit is installed would name it
_toolkit_file = next((str(Path(p) / "layers" / "dense.py") for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                      + sys.path if p and (Path(p) / "layers" / "dense.py").is_file()), None)
if _toolkit_file:
    relu_backward.__code__ = relu_backward.__code__.replace(co_filename=_toolkit_file)
