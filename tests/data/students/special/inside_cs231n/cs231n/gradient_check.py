"""The course's gradient-check helpers as a student's assignment folder holds them (written for this
corpus; an older year's version). It only defines functions: run as a script, it does nothing.
"""
from random import randrange

import numpy as np


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5):
    for _ in range(num_checks):
        ix = tuple(randrange(m) for m in x.shape)
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        numeric = (fxph - fxmh) / (2 * h)
        print(f"numerical: {numeric:f} analytic: {analytic_grad[ix]:f}, relative error: "
              f"{abs(numeric - analytic_grad[ix]) / (abs(numeric) + abs(analytic_grad[ix])):e}")


def rel_error(x, y):
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))
