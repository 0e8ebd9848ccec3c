"""Softmax loss written with scalar loops: the loss is summed but dx is averaged.

BUG: softmax_loss forgets to divide the loss by N (dx is divided): analytic = numeric x 1/N.
EXPECT: layer=softmax_loss diagnosis="1/N"
"""
import math

import numpy as np


def softmax_loss(x, y):
    N, C = x.shape
    loss = 0.0
    dx = np.zeros_like(x)
    for i in range(N):
        m = max(x[i])
        exps = [math.exp(x[i, j] - m) for j in range(C)]
        total = sum(exps)
        for j in range(C):
            p = exps[j] / total
            dx[i, j] = (p - (j == y[i])) / N
        loss += -math.log(exps[y[i]] / total)
    return loss, dx
